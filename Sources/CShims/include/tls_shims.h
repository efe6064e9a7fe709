#ifndef CAPGATE_TLS_SHIMS_H
#define CAPGATE_TLS_SHIMS_H
// TLS layer (CapgateTLS): one-line wrappers for OpenSSL 3 function-like macros
// (the SSL_CTX_ctrl / BIO_ctrl families, sk_GENERAL_NAME_*, SSL_OP_* constants)
// that Swift cannot import. No logic lives here: the policy is in Swift.
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

// --- SSL_CTX / SSL controls (macros over SSL_CTX_ctrl / SSL_ctrl) ---
int capgate_ssl_ctx_set_min_proto_version(SSL_CTX *ctx, int version);
int capgate_ssl_ctx_set_max_proto_version(SSL_CTX *ctx, int version);
long capgate_ssl_ctx_set_mode(SSL_CTX *ctx, long mode);
long capgate_ssl_set_mode(SSL *ssl, long mode);
int capgate_ssl_ctx_set1_groups_list(SSL_CTX *ctx, const char *list);
long capgate_ssl_ctx_set_session_cache_mode(SSL_CTX *ctx, long mode);
int capgate_ssl_ctx_add1_chain_cert(SSL_CTX *ctx, X509 *cert);
int capgate_ssl_set_tlsext_host_name(SSL *ssl, const char *name);

// --- SSL_OP_* / SSL_MODE_* constants (SSL_OP_BIT expressions do not import) ---
uint64_t capgate_ssl_op_no_compression(void);
uint64_t capgate_ssl_op_no_renegotiation(void);
uint64_t capgate_ssl_op_ignore_unexpected_eof(void);
uint64_t capgate_ssl_op_no_ticket(void);
uint64_t capgate_ssl_op_cipher_server_preference(void);
long capgate_ssl_mode_enable_partial_write(void);
long capgate_ssl_mode_accept_moving_write_buffer(void);
long capgate_ssl_sess_cache_off(void);

// --- Memory BIOs ---
size_t capgate_bio_pending(BIO *bio);
long capgate_bio_get_mem_data(BIO *bio, char **data);
/// Makes an empty memory BIO report EOF (0) instead of "retry": the peer closed TCP.
long capgate_bio_set_mem_eof_return(BIO *bio, int value);

// --- Memory ---
void capgate_openssl_free(void *ptr);

// --- GENERAL_NAME stacks (sk_GENERAL_NAME_* are macros) ---
int capgate_sk_general_name_num(const GENERAL_NAMES *names);
GENERAL_NAME *capgate_sk_general_name_value(const GENERAL_NAMES *names, int index);
void capgate_general_names_free(GENERAL_NAMES *names);
/// Type of a GENERAL_NAME (GEN_URI, GEN_DNS, ...) and, for string-like types
/// (URI, DNS, email), its raw bytes: the union is awkward from Swift.
int capgate_general_name_type(const GENERAL_NAME *name);
int capgate_general_name_ia5(const GENERAL_NAME *name, const unsigned char **data);

#endif
