// PKI section of CShims: see include/pki_shims.h.
#include "pki_shims.h"
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/crypto.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

EVP_PKEY *capgate_pki_ec_keygen(const char *curve) { return EVP_EC_gen(curve); }
void capgate_pki_openssl_free(void *ptr) { OPENSSL_free(ptr); }
long capgate_pki_bio_mem_data(BIO *bio, const char **data) { return BIO_get_mem_data(bio, data); }
unsigned long capgate_pki_name_flags_rfc2253(void) { return XN_FLAG_RFC2253; }

GENERAL_NAMES *capgate_pki_general_names_new(void) { return sk_GENERAL_NAME_new_null(); }
int capgate_pki_general_names_push(GENERAL_NAMES *names, GENERAL_NAME *name) { return sk_GENERAL_NAME_push(names, name); }
int capgate_pki_general_names_count(const GENERAL_NAMES *names) { return sk_GENERAL_NAME_num(names); }
GENERAL_NAME *capgate_pki_general_names_at(const GENERAL_NAMES *names, int i) { return sk_GENERAL_NAME_value(names, i); }

int capgate_pki_revoked_count(const STACK_OF(X509_REVOKED) *list) { return sk_X509_REVOKED_num(list); }
X509_REVOKED *capgate_pki_revoked_at(const STACK_OF(X509_REVOKED) *list, int i) { return sk_X509_REVOKED_value(list, i); }
