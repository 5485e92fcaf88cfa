/* date.c: not written yet. */
#include "config.h"
#include "buf.h"
