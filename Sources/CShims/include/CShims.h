#ifndef CAPGATE_CSHIMS_H
#define CAPGATE_CSHIMS_H
// One-line wrappers for C APIs that do not import into Swift: function-like
// macros, and the Linux headers Glibc's module map leaves out.
#include <stddef.h>
#include <stdint.h>

/// Writes `len` bytes of CSPRNG output; returns 1 on success (RAND_bytes).
int capgate_random_bytes(unsigned char *buf, int len);

/// `snprintf(buf, size, "%.*f", places, value)`: C's correctly rounded fixed formatting,
/// which CPython's `"%.2f" % v` matches, without Swift's va_list boxing on the hot path.
int capgate_format_fixed(char *buf, size_t size, int places, double value);


// TLS layer (CapgateTLS)
#include "tls_shims.h"
// PKI wrappers (CapgatePKI).
#include "pki_shims.h"
// ---- HTTP/2 (nghttp2) ----
#include "capgate_h2.h"
// io: epoll, eventfd, signalfd, accept4 (CapgateIO)
#include "io_shims.h"

#endif
