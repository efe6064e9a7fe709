// Per-thread LIFO cache of OpenSSL's small freed blocks (ossl_block_cache.h).
//
// WHY: a sidecar that has served kernel traffic pays ~0.25 ms more CPU per full mTLS
// handshake than a fresh one (1.06 vs 0.82 ms inside make bench). The kernel's requests run
// on the event loop threads, so they share those threads' glibc arenas with OpenSSL; after
// the verb loads the two loop arenas hold ~60 MiB with ~27 MiB free in ~70,000 holes between
// live store entries (malloc_info: ~20,000 free 64-byte chunks, ~13,000 32-byte ones). glibc's
// per-thread tcache keeps only 7 blocks per size; beyond that, a freed small block goes to a
// fastbin, is moved by the next large request's malloc_consolidate into the small bins, and
// waits at the head of a FIFO list behind those thousands of old holes, while each malloc
// takes (and stashes 7 more from) the tail: every handshake walks cold memory spread over the
// whole arena. perf: _int_malloc 2-3% of the server's handshake CPU fresh, 12-19% after the
// load (almost all in the small-bin -> tcache stash loop, on cache misses); the same binary
// with a 2000-deep tcache (GLIBC_TUNABLES, for the experiment only) stays at 1-2% both ways.
//
// HOW: OpenSSL's own small blocks, when freed, are kept in a per-thread singly linked list
// per 16-byte size class (the chunk geometry of glibc: usable size 16k - 8), and the next
// OpenSSL allocation of that class takes the most recently freed one. Every block cached or
// handed out is a glibc block (what reaches OpenSSL's free came from malloc, as with its
// default allocator), so realloc and a free on another thread stay plain glibc calls. Bounded: CAPGATE_OSSL_CACHE_DEPTH blocks per class
// and CAPGATE_OSSL_CACHE_THREAD_BYTES per thread; the rest goes to glibc free at once. A
// thread's exit gives its blocks back (pthread key destructor). Secrets: OpenSSL cleanses
// what it frees with OPENSSL_clear_free before the free function runs, exactly as with its
// default allocator; a cached block holds what glibc's free lists would have held.
#include "ossl_block_cache.h"

#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <openssl/crypto.h>

enum {
    GRANULE = 16,
    HEADER = 8,  // glibc's size field: a chunk of 16k bytes has 16k - 8 usable
    MAX_CLASS = (CAPGATE_OSSL_CACHE_MAX_REQUEST + HEADER) / GRANULE,
};

typedef struct free_block { struct free_block *next; } free_block;

enum { UNREGISTERED = 0, LIVE = 1, DEAD = 2 };

typedef struct {
    free_block *head[MAX_CLASS + 1];
    uint16_t count[MAX_CLASS + 1];
    size_t bytes;
    size_t blocks;
    int state;
} thread_cache;

static __thread thread_cache cache;

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static int key_ok;

static void drain(thread_cache *c) {
    for (int k = 0; k <= MAX_CLASS; k++) {
        free_block *b = c->head[k];
        while (b != NULL) {
            free_block *next = b->next;
            free(b);
            b = next;
        }
        c->head[k] = NULL;
        c->count[k] = 0;
    }
    c->bytes = 0;
    c->blocks = 0;
}

static void thread_exit(void *arg) {
    thread_cache *c = arg;
    drain(c);
    c->state = DEAD;  // frees later in this thread's exit go straight to glibc
}

static void make_key(void) { key_ok = pthread_key_create(&key, thread_exit) == 0; }

/// The class whose every cached block can hold `num` bytes (glibc's smallest chunk is 32
/// bytes, class 2, 24 usable).
static inline size_t request_class(size_t num) {
    size_t k = (num + HEADER + GRANULE - 1) / GRANULE;
    return k < 2 ? 2 : k;
}

void *capgate_ossl_cache_malloc(size_t num, const char *file, int line) {
    (void)file;
    (void)line;
    if (num == 0) return NULL;  // OpenSSL's default CRYPTO_malloc
    if (num <= CAPGATE_OSSL_CACHE_MAX_REQUEST) {
        size_t k = request_class(num);
        free_block *b = cache.head[k];
        if (b != NULL) {
            cache.head[k] = b->next;
            cache.count[k]--;
            cache.blocks--;
            cache.bytes -= k * GRANULE - HEADER;
            return b;
        }
    }
    return malloc(num);
}

void capgate_ossl_cache_free(void *ptr, const char *file, int line) {
    (void)file;
    (void)line;
    if (ptr == NULL) return;
    thread_cache *c = &cache;
    if (c->state != LIVE) {
        if (c->state == UNREGISTERED) {
            pthread_once(&key_once, make_key);
            c->state = key_ok && pthread_setspecific(key, c) == 0 ? LIVE : DEAD;
        }
        if (c->state != LIVE) {
            free(ptr);
            return;
        }
    }
    // Floor: a block of class k has at least k * 16 - 8 usable bytes, what every request of
    // class k needs.
    size_t k = (malloc_usable_size(ptr) + HEADER) / GRANULE;
    size_t usable = k * GRANULE - HEADER;
    if (k > MAX_CLASS || c->count[k] >= CAPGATE_OSSL_CACHE_DEPTH
        || c->bytes + usable > CAPGATE_OSSL_CACHE_THREAD_BYTES) {
        free(ptr);
        return;
    }
    free_block *b = ptr;
    b->next = c->head[k];
    c->head[k] = b;
    c->count[k]++;
    c->blocks++;
    c->bytes += usable;
}

void *capgate_ossl_cache_realloc(void *ptr, size_t num, const char *file, int line) {
    if (ptr == NULL) return capgate_ossl_cache_malloc(num, file, line);
    if (num == 0) {
        capgate_ossl_cache_free(ptr, file, line);
        return NULL;
    }
    return realloc(ptr, num);
}

int capgate_ossl_cache_install(void) {
    return CRYPTO_set_mem_functions(capgate_ossl_cache_malloc, capgate_ossl_cache_realloc, capgate_ossl_cache_free);
}

void capgate_ossl_cache_thread_stats(size_t *blocks, size_t *bytes) {
    *blocks = cache.blocks;
    *bytes = cache.bytes;
}

void capgate_ossl_cache_drain(void) { drain(&cache); }
