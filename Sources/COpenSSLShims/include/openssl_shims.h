#ifndef CAPGATE_OPENSSL_SHIMS_H
#define CAPGATE_OPENSSL_SHIMS_H
// One-line wrappers for OpenSSL 3 function-like macros (the SSL_CTX_ctrl / BIO_ctrl families,
// the typed sk_GENERAL_NAME_* / sk_X509_REVOKED_* stacks, SSL_OP_* constants, EVP_EC_gen,
// OPENSSL_free) that Swift cannot import. Used by CapgateX509, CapgateTLS, CapgatePKI and the
// kernel's CSPRNG. No logic lives here: the policy is in Swift (the C hot paths have their
// own headers: hmac_sha256.h, crl_fast_path.h, ossl_block_cache.h).
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

// --- CSPRNG ---
/// Writes `len` bytes of CSPRNG output; returns 1 on success (RAND_bytes).
int capgate_random_bytes(unsigned char *buf, int len);

// --- SSL_CTX / SSL controls (macros over SSL_CTX_ctrl / SSL_ctrl) ---
int capgate_ssl_ctx_set_min_proto_version(SSL_CTX *ctx, int version);
int capgate_ssl_ctx_set_max_proto_version(SSL_CTX *ctx, int version);
long capgate_ssl_ctx_set_mode(SSL_CTX *ctx, long mode);
long capgate_ssl_set_mode(SSL *ssl, long mode);
int capgate_ssl_ctx_set1_groups_list(SSL_CTX *ctx, const char *list);
long capgate_ssl_ctx_set_session_cache_mode(SSL_CTX *ctx, long mode);
int capgate_ssl_ctx_add1_chain_cert(SSL_CTX *ctx, X509 *cert);
/// SSL_CTX_build_cert_chain(ctx, NO_ROOT | IGNORE_ERROR | CLEAR_ERROR): the chain OpenSSL would
/// otherwise build on every handshake, built once, without a self-signed trust anchor at its end
/// (TLSContext.buildServerChainOnce says why). Returns 1, 2 (built despite a verify error),
/// 0 (failed) or -1 (the context already has explicit chain certificates: nothing to build).
long capgate_ssl_ctx_build_cert_chain_once(SSL_CTX *ctx);
int capgate_ssl_set_tlsext_host_name(SSL *ssl, const char *name);

// --- SSL_OP_* / SSL_MODE_* constants (SSL_OP_BIT expressions do not import) ---
uint64_t capgate_ssl_op_no_compression(void);
uint64_t capgate_ssl_op_no_renegotiation(void);
uint64_t capgate_ssl_op_ignore_unexpected_eof(void);
uint64_t capgate_ssl_op_no_ticket(void);
uint64_t capgate_ssl_op_cipher_server_preference(void);
long capgate_ssl_mode_enable_partial_write(void);
long capgate_ssl_mode_accept_moving_write_buffer(void);
long capgate_ssl_mode_release_buffers(void);
long capgate_ssl_mode_no_auto_chain(void);
long capgate_ssl_sess_cache_off(void);

// --- Memory BIOs ---
size_t capgate_bio_pending(BIO *bio);
/// BIO_get_mem_data: points *data at a memory BIO's contents and returns their length.
long capgate_bio_get_mem_data(BIO *bio, char **data);
/// Makes an empty memory BIO report EOF (0) instead of "retry": the peer closed TCP.
long capgate_bio_set_mem_eof_return(BIO *bio, int value);
/// The bytes a memory BIO has allocated (BUF_MEM max): memory BIOs never shrink on their own.
size_t capgate_bio_mem_capacity(BIO *bio);

// --- Memory ---
/// OPENSSL_free(ptr): releases memory OpenSSL allocated (BN_bn2hex results).
void capgate_openssl_free(void *ptr);

// --- Keys and names ---
/// EVP_EC_gen(curve): a fresh EC key on the named curve ("P-256"), NULL on failure.
EVP_PKEY *capgate_ec_keygen(const char *curve);
/// XN_FLAG_RFC2253: X509_NAME_print_ex flags for "CN=a,O=b" output.
unsigned long capgate_name_flags_rfc2253(void);

// --- GENERAL_NAME stacks (sk_GENERAL_NAME_* are macros) ---
GENERAL_NAMES *capgate_general_names_new(void);
int capgate_general_names_push(GENERAL_NAMES *names, GENERAL_NAME *name);
int capgate_general_names_count(const GENERAL_NAMES *names);
GENERAL_NAME *capgate_general_names_at(const GENERAL_NAMES *names, int index);
void capgate_general_names_free(GENERAL_NAMES *names);
/* cRLDistributionPoints: one fullName point (takes `names`); the URIs back, NUL-separated. */
int capgate_x509_add_crl_distribution_point(X509 *x, GENERAL_NAMES *names);
int capgate_x509_crl_distribution_uris(X509 *x, char *out, int cap);
/// Type of a GENERAL_NAME (GEN_URI, GEN_DNS, ...) and, for string-like types (URI, DNS, email)
/// and iPAddress, its raw bytes (-1 and NULL for other types): the union is awkward from Swift.
int capgate_general_name_type(const GENERAL_NAME *name);
int capgate_general_name_bytes(const GENERAL_NAME *name, const unsigned char **data);

// --- CRL entries (sk_X509_REVOKED_* are macros) ---
int capgate_revoked_count(const STACK_OF(X509_REVOKED) *list);
X509_REVOKED *capgate_revoked_at(const STACK_OF(X509_REVOKED) *list, int index);

#endif
