// See include/hmac_sha256.h for why this exists. OpenSSL 3 marks the SHA256_* functions
// deprecated (in favour of EVP_Digest*), but they are exported and are what its own HMAC
// runs underneath; the suppression is local to this file.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "hmac_sha256.h"
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

struct capgate_hmac_sha256_key {
    SHA256_CTX inner;  // after absorbing key ^ ipad
    SHA256_CTX outer;  // after absorbing key ^ opad
};

capgate_hmac_sha256_key *capgate_hmac_sha256_key_new(const uint8_t *key, size_t len) {
    capgate_hmac_sha256_key *k = OPENSSL_zalloc(sizeof *k);
    if (k == NULL) return NULL;
    uint8_t block[SHA256_CBLOCK] = {0};
    uint8_t pad[SHA256_CBLOCK];
    int ok = 1;
    if (len > SHA256_CBLOCK) {
        ok = SHA256(key, len, block) != NULL;
    } else if (len > 0) {
        memcpy(block, key, len);
    }
    for (size_t i = 0; i < SHA256_CBLOCK; i++) pad[i] = block[i] ^ 0x36;
    ok = ok && SHA256_Init(&k->inner) && SHA256_Update(&k->inner, pad, SHA256_CBLOCK);
    for (size_t i = 0; i < SHA256_CBLOCK; i++) pad[i] = block[i] ^ 0x5c;
    ok = ok && SHA256_Init(&k->outer) && SHA256_Update(&k->outer, pad, SHA256_CBLOCK);
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
    if (!ok) {
        capgate_hmac_sha256_key_free(k);
        return NULL;
    }
    return k;
}

void capgate_hmac_sha256_key_free(capgate_hmac_sha256_key *key) {
    if (key != NULL) OPENSSL_clear_free(key, sizeof *key);
}

int capgate_hmac_sha256(const capgate_hmac_sha256_key *key, const uint8_t *msg, size_t len, uint8_t *out) {
    SHA256_CTX c = key->inner;
    uint8_t inner[SHA256_DIGEST_LENGTH];
    int ok = SHA256_Update(&c, msg, len) && SHA256_Final(inner, &c);
    c = key->outer;
    ok = ok && SHA256_Update(&c, inner, sizeof inner) && SHA256_Final(out, &c);
    OPENSSL_cleanse(&c, sizeof c);
    OPENSSL_cleanse(inner, sizeof inner);
    return ok;
}
