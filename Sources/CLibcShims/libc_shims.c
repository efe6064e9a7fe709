// libc wrappers: see include/libc_shims.h.
#include "libc_shims.h"
#include <limits.h>
#include <malloc.h>
#include <stdio.h>

int capgate_format_fixed(char *buf, size_t size, int places, double value) {
    return snprintf(buf, size, "%.*f", places, value);
}

int capgate_malloc_set_trim_threshold(size_t bytes) {
    return mallopt(M_TRIM_THRESHOLD, bytes > INT_MAX ? INT_MAX : (int)bytes);
}
