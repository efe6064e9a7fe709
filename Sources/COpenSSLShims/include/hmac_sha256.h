#ifndef CAPGATE_HMAC_SHA256_H
#define CAPGATE_HMAC_SHA256_H
// HMAC-SHA256 (RFC 2104) with the key's two padded blocks absorbed once, for the kernel's
// token signatures (AgentKernel's HMACSigner). Why not EVP_MAC: a MAC through a reused
// EVP_MAC_CTX re-copies the keyed digest contexts through the provider (an allocation and
// free per copy) and costs ~0.45 us for a 340-byte token payload; two SHA256_CTX struct
// copies and the same SHA-256 code (SHA-NI where the CPU has it) cost ~0.35 us. The key
// state is immutable after creation, so one key serves every thread without a lock.
#include <stddef.h>
#include <stdint.h>

typedef struct capgate_hmac_sha256_key capgate_hmac_sha256_key;

/// Absorbs `key` (hashed first when longer than the 64-byte block, as RFC 2104 says).
/// Returns NULL when memory or the digest fails.
capgate_hmac_sha256_key *capgate_hmac_sha256_key_new(const uint8_t *key, size_t len);
/// Wipes and frees the key state.
void capgate_hmac_sha256_key_free(capgate_hmac_sha256_key *key);
/// Writes the 32-byte MAC of `msg` to `out`; returns 1 on success, 0 on a digest failure.
int capgate_hmac_sha256(const capgate_hmac_sha256_key *key, const uint8_t *msg, size_t len, uint8_t *out);

#endif
