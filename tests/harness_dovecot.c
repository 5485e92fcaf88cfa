#include "config.h"
#include "harness.h"
