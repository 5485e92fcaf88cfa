/* mutf7.c: not written yet. */
#include "config.h"
#include "buf.h"
