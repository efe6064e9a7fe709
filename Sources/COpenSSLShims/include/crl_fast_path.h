#ifndef CAPGATE_CRL_FAST_PATH_H
#define CAPGATE_CRL_FAST_PATH_H
// Revocation check of a verified chain without re-verifying each CRL's signature on every
// handshake (OpenSSL 3.0 verifies it again for every chain certificate it checks). The
// design, and why it refuses exactly what OpenSSL refuses, is in crl_fast_path.c and
// Sources/CapgateTLS/README.md ("CRL signature once per context").
#include <stdint.h>
#include <openssl/x509_vfy.h>

/// Installs the fast revocation check on `store`, whose anchors and CRLs must all be loaded
/// and whose flags must be set. Returns 1 when installed, 0 when the store's CRLs fall outside
/// the simple profile (OpenSSL's own check stays, untouched), -1 on an allocation failure.
int capgate_crl_fast_path_install(X509_STORE *store);

/// Chains the fast path accepted on `store`, and chains it handed to OpenSSL's full check
/// (everything it refuses or cannot prove). Both 0 when not installed.
void capgate_crl_fast_path_counts(X509_STORE *store, uint64_t *accepted, uint64_t *fallbacks);

#endif
