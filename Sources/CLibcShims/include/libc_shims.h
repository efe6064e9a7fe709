#ifndef CAPGATE_LIBC_SHIMS_H
#define CAPGATE_LIBC_SHIMS_H
// libc calls Swift cannot make directly: C variadic functions (snprintf) import without their
// variadic part (AgentKernel's Python float formatting), malloc.h, which Swift's Glibc
// module does not include (the `capgate serve` process's allocator setting), and compiler
// builtins (prefetch).
#include <stddef.h>

/// `snprintf(buf, size, "%.*f", places, value)`: C's correctly rounded fixed formatting,
/// which CPython's `"%.2f" % v` matches, without Swift's va_list boxing on the hot path.
int capgate_format_fixed(char *buf, size_t size, int places, double value);

/// `mallopt(M_TRIM_THRESHOLD, bytes)`: glibc gives a thread's heap back to the kernel only
/// once more than `bytes` are free at its top. Returns mallopt's result (1 done, 0 refused).
int capgate_malloc_set_trim_threshold(size_t bytes);

/// `__builtin_prefetch`: starts loading the cache line at `p` without waiting for it. Any
/// address is safe, even an invalid one: a prefetch never faults. (AgentKernel's stores
/// prefetch the entry they will evict next, so its cache misses overlap other work.)
static inline void capgate_prefetch(const void *p) { __builtin_prefetch(p, 1, 3); }

#endif
