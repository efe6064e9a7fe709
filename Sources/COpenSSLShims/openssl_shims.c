// OpenSSL macro wrappers: see include/openssl_shims.h. One line each, no policy.
#include "openssl_shims.h"
#include <openssl/buffer.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

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
    return SSL_CTX_build_cert_chain(ctx, SSL_BUILD_CHAIN_FLAG_NO_ROOT | SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR
                                             | SSL_BUILD_CHAIN_FLAG_CLEAR_ERROR);
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

/* cRLDistributionPoints (RFC 5280 4.2.1.13): one DistributionPoint whose fullName is `names`
 * (ownership of `names` moves in, also on failure), no reasons, no cRLIssuer. Added to `x`
 * non-critical. Built from objects, not config text, so a URI containing ',' stays one URI. */
int capgate_x509_add_crl_distribution_point(X509 *x, GENERAL_NAMES *names) {
    DIST_POINT *dp = DIST_POINT_new();
    DIST_POINT_NAME *dpn = DIST_POINT_NAME_new();
    CRL_DIST_POINTS *dps = sk_DIST_POINT_new_null();
    if (dp == NULL || dpn == NULL || dps == NULL) {
        DIST_POINT_free(dp); DIST_POINT_NAME_free(dpn); sk_DIST_POINT_free(dps); GENERAL_NAMES_free(names);
        return 0;
    }
    dpn->type = 0; /* fullName */
    dpn->name.fullname = names;
    dp->distpoint = dpn;
    if (sk_DIST_POINT_push(dps, dp) <= 0) {
        DIST_POINT_free(dp); sk_DIST_POINT_free(dps);
        return 0;
    }
    int ok = X509_add1_ext_i2d(x, NID_crl_distribution_points, dps, 0, X509V3_ADD_DEFAULT);
    CRL_DIST_POINTS_free(dps);
    return ok;
}

/* The URIs of every fullName of the certificate's cRLDistributionPoints, written to `out` as
 * NUL-separated strings (at most `cap` bytes). Returns the bytes needed, 0 when the extension
 * is absent, -1 when it does not parse. */
int capgate_x509_crl_distribution_uris(X509 *x, char *out, int cap) {
    int crit = -1;
    CRL_DIST_POINTS *dps = X509_get_ext_d2i(x, NID_crl_distribution_points, &crit, NULL);
    if (dps == NULL) return crit == -1 ? 0 : -1;
    int need = 0;
    for (int i = 0; i < sk_DIST_POINT_num(dps); i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
        if (dp->distpoint == NULL || dp->distpoint->type != 0) continue;
        GENERAL_NAMES *names = dp->distpoint->name.fullname;
        for (int j = 0; j < sk_GENERAL_NAME_num(names); j++) {
            GENERAL_NAME *g = sk_GENERAL_NAME_value(names, j);
            if (g->type != GEN_URI) continue;
            int len = ASN1_STRING_length(g->d.uniformResourceIdentifier);
            const unsigned char *d = ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
            if (need + len + 1 <= cap) { memcpy(out + need, d, (size_t)len); out[need + len] = 0; }
            need += len + 1;
        }
    }
    CRL_DIST_POINTS_free(dps);
    return need;
}
