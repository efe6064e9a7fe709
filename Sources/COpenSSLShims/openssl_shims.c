// OpenSSL macro wrappers: see include/openssl_shims.h. One line each, no policy.
#include "openssl_shims.h"
#include <openssl/buffer.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

int capgate_random_bytes(unsigned char *buf, int len) { return RAND_bytes(buf, len); }

int capgate_ssl_ctx_set_min_proto_version(SSL_CTX *ctx, int v) { return (int)SSL_CTX_set_min_proto_version(ctx, v); }
int capgate_ssl_ctx_set_max_proto_version(SSL_CTX *ctx, int v) { return (int)SSL_CTX_set_max_proto_version(ctx, v); }
long capgate_ssl_ctx_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
long capgate_ssl_set_mode(SSL *ssl, long mode) { return SSL_set_mode(ssl, mode); }
int capgate_ssl_ctx_set1_groups_list(SSL_CTX *ctx, const char *list) { return (int)SSL_CTX_set1_groups_list(ctx, list); }
long capgate_ssl_ctx_set_session_cache_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_session_cache_mode(ctx, mode); }
int capgate_ssl_ctx_add1_chain_cert(SSL_CTX *ctx, X509 *cert) { return (int)SSL_CTX_add1_chain_cert(ctx, cert); }
int capgate_ssl_set_tlsext_host_name(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }

uint64_t capgate_ssl_op_no_compression(void) { return SSL_OP_NO_COMPRESSION; }
uint64_t capgate_ssl_op_no_renegotiation(void) { return SSL_OP_NO_RENEGOTIATION; }
uint64_t capgate_ssl_op_ignore_unexpected_eof(void) { return SSL_OP_IGNORE_UNEXPECTED_EOF; }
uint64_t capgate_ssl_op_no_ticket(void) { return SSL_OP_NO_TICKET; }
uint64_t capgate_ssl_op_cipher_server_preference(void) { return SSL_OP_CIPHER_SERVER_PREFERENCE; }
long capgate_ssl_mode_enable_partial_write(void) { return SSL_MODE_ENABLE_PARTIAL_WRITE; }
long capgate_ssl_mode_accept_moving_write_buffer(void) { return SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER; }
long capgate_ssl_mode_release_buffers(void) { return SSL_MODE_RELEASE_BUFFERS; }
long capgate_ssl_mode_no_auto_chain(void) { return SSL_MODE_NO_AUTO_CHAIN; }
long capgate_ssl_ctx_build_cert_chain_once(SSL_CTX *ctx) {
    STACK_OF(X509) *given = NULL;
    if (SSL_CTX_get0_chain_certs(ctx, &given) == 1 && given != NULL && sk_X509_num(given) > 0) return -1;
    return SSL_CTX_build_cert_chain(ctx, SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR | SSL_BUILD_CHAIN_FLAG_CLEAR_ERROR);
}
long capgate_ssl_sess_cache_off(void) { return SSL_SESS_CACHE_OFF; }

size_t capgate_bio_pending(BIO *bio) { return BIO_ctrl_pending(bio); }
long capgate_bio_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }
long capgate_bio_set_mem_eof_return(BIO *bio, int value) { return BIO_set_mem_eof_return(bio, value); }
size_t capgate_bio_mem_capacity(BIO *bio) {
    BUF_MEM *mem = NULL;
    if (BIO_get_mem_ptr(bio, &mem) <= 0 || mem == NULL) return 0;
    return mem->max;
}

void capgate_openssl_free(void *ptr) { OPENSSL_free(ptr); }

EVP_PKEY *capgate_ec_keygen(const char *curve) { return EVP_EC_gen(curve); }
unsigned long capgate_name_flags_rfc2253(void) { return XN_FLAG_RFC2253; }

GENERAL_NAMES *capgate_general_names_new(void) { return sk_GENERAL_NAME_new_null(); }
int capgate_general_names_push(GENERAL_NAMES *names, GENERAL_NAME *name) { return sk_GENERAL_NAME_push(names, name); }
int capgate_general_names_count(const GENERAL_NAMES *names) { return sk_GENERAL_NAME_num(names); }
GENERAL_NAME *capgate_general_names_at(const GENERAL_NAMES *names, int i) { return sk_GENERAL_NAME_value(names, i); }
void capgate_general_names_free(GENERAL_NAMES *names) { GENERAL_NAMES_free(names); }
int capgate_general_name_type(const GENERAL_NAME *name) { return name->type; }
int capgate_general_name_bytes(const GENERAL_NAME *name, const unsigned char **data) {
    const ASN1_STRING *s = NULL;
    switch (name->type) {
    case GEN_URI: s = name->d.uniformResourceIdentifier; break;
    case GEN_DNS: s = name->d.dNSName; break;
    case GEN_EMAIL: s = name->d.rfc822Name; break;
    case GEN_IPADD: s = name->d.iPAddress; break;
    default: *data = NULL; return -1;
    }
    if (s == NULL) { *data = NULL; return -1; }
    *data = ASN1_STRING_get0_data(s);
    return ASN1_STRING_length(s);
}

int capgate_revoked_count(const STACK_OF(X509_REVOKED) *list) { return sk_X509_REVOKED_num(list); }
X509_REVOKED *capgate_revoked_at(const STACK_OF(X509_REVOKED) *list, int i) { return sk_X509_REVOKED_value(list, i); }
