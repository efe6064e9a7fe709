#ifndef CAPGATE_LIBC_SHIMS_H
#define CAPGATE_LIBC_SHIMS_H
// libc calls Swift cannot make directly: C variadic functions (snprintf) import without their
// variadic part. Used by AgentKernel's Python float formatting.
#include <stddef.h>

/// `snprintf(buf, size, "%.*f", places, value)`: C's correctly rounded fixed formatting,
/// which CPython's `"%.2f" % v` matches, without Swift's va_list boxing on the hot path.
int capgate_format_fixed(char *buf, size_t size, int places, double value);

#endif
