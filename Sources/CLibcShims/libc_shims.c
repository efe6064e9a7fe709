// libc wrappers: see include/libc_shims.h.
#include "libc_shims.h"
#include <stdio.h>

int capgate_format_fixed(char *buf, size_t size, int places, double value) {
    return snprintf(buf, size, "%.*f", places, value);
}
