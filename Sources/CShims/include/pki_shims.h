#ifndef CAPGATE_PKI_SHIMS_H
#define CAPGATE_PKI_SHIMS_H
// PKI: one-line wrappers for OpenSSL 3 macros (EVP_EC_gen, OPENSSL_free, BIO_get_mem_data,
// the typed sk_GENERAL_NAME_* / sk_X509_REVOKED_* stacks) that Swift cannot import.
// Opaque types are declared here as `struct ...` so this header needs no OpenSSL include.
#include <stddef.h>

struct evp_pkey_st;
struct bio_st;
struct stack_st_GENERAL_NAME;
struct GENERAL_NAME_st;
struct stack_st_X509_REVOKED;
struct x509_revoked_st;

/// EVP_EC_gen(curve): a fresh EC key on the named curve ("P-256"), NULL on failure.
struct evp_pkey_st *capgate_pki_ec_keygen(const char *curve);
/// OPENSSL_free(ptr): releases memory OpenSSL allocated (BN_bn2hex results).
void capgate_pki_openssl_free(void *ptr);
/// BIO_get_mem_data: points *data at a memory BIO's contents and returns their length.
long capgate_pki_bio_mem_data(struct bio_st *bio, const char **data);

/// XN_FLAG_RFC2253: X509_NAME_print_ex flags for "CN=a,O=b" output.
unsigned long capgate_pki_name_flags_rfc2253(void);

/// sk_GENERAL_NAME_new_null / _push / _num / _value.
struct stack_st_GENERAL_NAME *capgate_pki_general_names_new(void);
int capgate_pki_general_names_push(struct stack_st_GENERAL_NAME *names, struct GENERAL_NAME_st *name);
int capgate_pki_general_names_count(const struct stack_st_GENERAL_NAME *names);
struct GENERAL_NAME_st *capgate_pki_general_names_at(const struct stack_st_GENERAL_NAME *names, int i);

/// sk_X509_REVOKED_num / _value.
int capgate_pki_revoked_count(const struct stack_st_X509_REVOKED *list);
struct x509_revoked_st *capgate_pki_revoked_at(const struct stack_st_X509_REVOKED *list, int i);

#endif
