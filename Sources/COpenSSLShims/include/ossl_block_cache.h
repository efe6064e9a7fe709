#ifndef CAPGATE_OSSL_BLOCK_CACHE_H
#define CAPGATE_OSSL_BLOCK_CACHE_H
// A per-thread, last-in-first-out cache of OpenSSL's small freed blocks in front of glibc
// malloc, so a long-running sidecar's handshakes reuse the blocks the previous handshakes
// just freed (hot in the CPU caches) instead of the oldest holes of a fragmented arena. The
// why, with numbers, is in ossl_block_cache.c and Sources/CapgateTLS/README.md.
#include <stddef.h>

/// Largest request (bytes) the cache serves; larger ones go straight to glibc.
#define CAPGATE_OSSL_CACHE_MAX_REQUEST 1016
/// Blocks kept per size class and bytes kept per thread (usable sizes), at most.
#define CAPGATE_OSSL_CACHE_DEPTH 1024
#define CAPGATE_OSSL_CACHE_THREAD_BYTES (4096 * 1024)

/// Routes OpenSSL's allocations (CRYPTO_set_mem_functions) through the cache. Must run before
/// OpenSSL's first allocation in the process; returns 1 when installed, 0 when OpenSSL refused
/// (it had already allocated: its default allocator stays, nothing else changes).
int capgate_ossl_cache_install(void);

/// The three functions installed (CRYPTO_malloc_fn, CRYPTO_realloc_fn, CRYPTO_free_fn), with
/// OpenSSL's default semantics: malloc(0) and realloc(p, 0) return NULL (the latter frees p),
/// realloc(NULL, n) allocates, free(NULL) does nothing. Exposed for the tests.
void *capgate_ossl_cache_malloc(size_t num, const char *file, int line);
void *capgate_ossl_cache_realloc(void *ptr, size_t num, const char *file, int line);
void capgate_ossl_cache_free(void *ptr, const char *file, int line);

/// The calling thread's cached blocks and their usable bytes.
void capgate_ossl_cache_thread_stats(size_t *blocks, size_t *bytes);
/// Gives the calling thread's cached blocks back to glibc (a thread's exit does it too).
void capgate_ossl_cache_drain(void);

#endif
