// Revocation check of a verified chain with each CRL's signature verified once per context.
//
// WHY: with X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL, OpenSSL 3.0 checks every chain
// certificate (the self-signed anchor included) and verifies the CRL's signature each time:
// two ECDSA verifications of the same CRL per root -> leaf handshake, about a tenth of the
// server's CPU per full handshake (docs/benchmarks.md, handshakes). The CRLs and the anchors
// that sign them are fixed for the life of a context (a reload builds a new one), so the
// signature can be verified once, when the context is built.
//
// HOW (fail closed): this replaces the store's check_revocation step, at the same point of
// X509_verify_cert. The fast path only ever ACCEPTS, and only when every condition under which
// OpenSSL's own check accepts without reporting anything is proven for every certificate of
// the chain. Anything else (a revoked or removeFromCRL entry, no CRL, an issuer that is not an
// anchor the CRL was verified against, a CRL out of its validity window, a distribution point
// with reasons or a CRL issuer, a proxy certificate, unexpected verify flags, a CRL-path
// sub-check) goes to OpenSSL's own check_revocation, which then decides and reports exactly
// what it always did (same error, depth and certificate, hence the same TLS alert).
//
// What OpenSSL 3.0's check accepts, per certificate x at depth i (issuer I = chain[i+1], or
// the last certificate itself), with our flags (no deltas, no extended CRL support, no custom
// time) and the store's only CRL c whose issuer name equals x's issuer name:
//   - c scores as valid: no critical extension, within its time window, I matches c's issuer
//     name and AKID, no issuing distribution point (so x's distribution points, when they carry
//     neither reasons nor a CRL issuer, put x in c's scope with all reasons);
//   - check_crl: I's key usage allows cRLSign, I's key decodes, c's signature verifies with it;
//   - cert_crl: x's serial is not listed in c.
// Load time proves, once: the simple profile of every CRL (extensions: AKID and CRL number,
// non-critical; entries: reason code and invalidity date, non-critical; one CRL per issuer
// name), and, per (CRL, anchor with that subject) pair, AKID match, cRLSign and the signature.
// Handshake time proves the rest: the pair (compared with X509_cmp), the time window, x's
// distribution points, x not listed.
// Assumption, true of every store CapgateTLS builds: no lookup method (by_file, by_dir) is
// attached, so the store's objects are all the CRLs OpenSSL's look-up can find.
#include "crl_fast_path.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

typedef struct {
    X509_CRL *crl;
    X509 *issuer;  // an anchor of the store whose key verifies `crl` (AKID and cRLSign checked)
} fp_pair;

typedef struct {
    int count;
    fp_pair *pairs;
    _Atomic uint64_t accepted;
    _Atomic uint64_t fallbacks;
} fp_table;

static int fp_index = -1;
static X509_STORE_CTX_check_revocation_fn openssl_check_revocation = NULL;
static pthread_once_t fp_once = PTHREAD_ONCE_INIT;

static void fp_table_free(fp_table *t) {
    if (t == NULL) return;
    for (int i = 0; i < t->count; i++) {
        X509_CRL_free(t->pairs[i].crl);
        X509_free(t->pairs[i].issuer);
    }
    free(t->pairs);
    free(t);
}

static void fp_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp) {
    (void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
    fp_table_free(ptr);
}

// The ex_data slot, and OpenSSL's own check_revocation as a context of a plain store gets it.
static void fp_init(void) {
    fp_index = X509_STORE_get_ex_new_index(0, NULL, NULL, NULL, fp_ex_free);
    X509_STORE *plain = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (plain != NULL && ctx != NULL && X509_STORE_CTX_init(ctx, plain, NULL, NULL) == 1)
        openssl_check_revocation = X509_STORE_CTX_get_check_revocation(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(plain);
}

// Only these verify flags: anything else (deltas, extended CRL support, a fixed or no check
// time, ignored critical extensions, partial chains, Suite B...) changes what OpenSSL checks.
static const unsigned long fp_required = X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
static const unsigned long fp_allowed = X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL
                                      | X509_V_FLAG_TRUSTED_FIRST;

static int ext_is_one_of(X509_EXTENSION *ext, int nid_a, int nid_b) {
    if (X509_EXTENSION_get_critical(ext)) return 0;
    int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
    return nid != NID_undef && (nid == nid_a || nid == nid_b);
}

// RFC 5280 time encoding (YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ): the strictest form any OpenSSL
// release accepts, so the window test below means the same to all of them.
static int strict_time(const ASN1_TIME *t) {
    if (t == NULL) return 0;
    int type = ASN1_STRING_type(t), len = ASN1_STRING_length(t);
    if (!((type == V_ASN1_UTCTIME && len == 13) || (type == V_ASN1_GENERALIZEDTIME && len == 15))) return 0;
    const unsigned char *d = ASN1_STRING_get0_data(t);
    for (int i = 0; i < len - 1; i++) if (d[i] < '0' || d[i] > '9') return 0;
    return d[len - 1] == 'Z';
}

// The simple profile: a full CRL (no delta, no IDP, hence not indirect), whose only extensions
// are a non-critical AKID (that decodes) and CRL number, whose entries carry at most a
// non-critical reason code and invalidity date (no certificate issuer), with strict times.
static int crl_is_simple(X509_CRL *crl) {
    const STACK_OF(X509_EXTENSION) *exts = X509_CRL_get0_extensions(crl);
    for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
        if (!ext_is_one_of(sk_X509_EXTENSION_value(exts, i), NID_authority_key_identifier, NID_crl_number))
            return 0;
    }
    int crit = 0;
    AUTHORITY_KEYID *akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, &crit, NULL);
    if (akid == NULL && crit != -1) return 0;  // present but unreadable, or repeated
    AUTHORITY_KEYID_free(akid);
    ASN1_INTEGER *number = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
    if (number == NULL && crit != -1) return 0;
    ASN1_INTEGER_free(number);
    STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);
    for (int i = 0; i < sk_X509_REVOKED_num(revoked); i++) {
        const STACK_OF(X509_EXTENSION) *rexts = X509_REVOKED_get0_extensions(sk_X509_REVOKED_value(revoked, i));
        for (int j = 0; j < sk_X509_EXTENSION_num(rexts); j++) {
            if (!ext_is_one_of(sk_X509_EXTENSION_value(rexts, j), NID_crl_reason, NID_invalidity_date))
                return 0;
        }
    }
    return strict_time(X509_CRL_get0_lastUpdate(crl)) && strict_time(X509_CRL_get0_nextUpdate(crl));
}

// What OpenSSL's CRL scoring and check_crl ask of the issuer certificate, minus the chain
// position (checked per handshake): subject = CRL issuer, AKID match, cRLSign when key usage
// is present, a key that decodes and verifies the CRL's signature.
static int issuer_signs(X509_CRL *crl, X509 *cert) {
    if (X509_NAME_cmp(X509_get_subject_name(cert), X509_CRL_get_issuer(crl)) != 0) return 0;
    AUTHORITY_KEYID *akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
    int akid_ok = X509_check_akid(cert, akid) == X509_V_OK;
    AUTHORITY_KEYID_free(akid);
    if (!akid_ok) return 0;
    if ((X509_get_extension_flags(cert) & EXFLAG_KUSAGE) != 0 && (X509_get_key_usage(cert) & KU_CRL_SIGN) == 0)
        return 0;
    EVP_PKEY *key = X509_get0_pubkey(cert);
    if (key == NULL) return 0;
    ERR_set_mark();
    int ok = X509_CRL_verify(crl, key) == 1;
    ERR_pop_to_mark();
    return ok;
}

// True when x's distribution points (if any) each name neither reasons nor a CRL issuer: with a
// CRL without IDP, OpenSSL then puts x in the CRL's scope for all reasons.
static int plain_distribution_points(X509 *x) {
    int crit = 0;
    STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(x, NID_crl_distribution_points, &crit, NULL);
    if (dps == NULL) return crit == -1;  // absent: fine; present but unreadable or repeated: no
    int ok = 1;
    for (int i = 0; i < sk_DIST_POINT_num(dps); i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
        if (dp->reasons != NULL || dp->CRLissuer != NULL) { ok = 0; break; }
    }
    sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    return ok;
}

static const fp_pair *pair_for(const fp_table *t, X509 *x, X509 *issuer) {
    const X509_NAME *name = X509_get_issuer_name(x);
    for (int i = 0; i < t->count; i++) {
        if (X509_NAME_cmp(X509_CRL_get_issuer(t->pairs[i].crl), name) == 0 && X509_cmp(t->pairs[i].issuer, issuer) == 0)
            return &t->pairs[i];
    }
    return NULL;
}

// True only when OpenSSL's check_revocation would accept the chain without reporting anything.
static int chain_is_clear(X509_STORE_CTX *ctx, const fp_table *t) {
    if (X509_STORE_CTX_get0_parent_ctx(ctx) != NULL) return 0;  // a CRL-path sub-check
    unsigned long flags = X509_VERIFY_PARAM_get_flags(X509_STORE_CTX_get0_param(ctx));
    if ((flags & fp_required) != fp_required || (flags & ~fp_allowed) != 0) return 0;
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    int n = sk_X509_num(chain);
    if (n < 1) return 0;
    for (int i = 0; i < n; i++) {
        X509 *x = sk_X509_value(chain, i);
        X509 *issuer = sk_X509_value(chain, i + 1 < n ? i + 1 : n - 1);
        if ((X509_get_extension_flags(x) & EXFLAG_PROXY) != 0) return 0;
        const fp_pair *p = pair_for(t, x, issuer);
        if (p == NULL) return 0;
        // OpenSSL's window: lastUpdate strictly before now (X509_cmp_time -1), nextUpdate after.
        if (X509_cmp_time(X509_CRL_get0_lastUpdate(p->crl), NULL) != -1) return 0;
        const ASN1_TIME *next = X509_CRL_get0_nextUpdate(p->crl);
        if (next == NULL || X509_cmp_time(next, NULL) != 1) return 0;
        if (!plain_distribution_points(x)) return 0;
        X509_REVOKED *entry = NULL;
        if (X509_CRL_get0_by_cert(p->crl, &entry, x) != 0) return 0;  // listed (revoked or removeFromCRL)
    }
    // Leave the context as OpenSSL's loop does: depth and certificate of the last one checked.
    X509_STORE_CTX_set_error_depth(ctx, n - 1);
    X509_STORE_CTX_set_current_cert(ctx, sk_X509_value(chain, n - 1));
    return 1;
}

static int capgate_crl_fast_path_check(X509_STORE_CTX *ctx) {
    fp_table *t = X509_STORE_get_ex_data(X509_STORE_CTX_get0_store(ctx), fp_index);
    // Whatever the fast path's own look-ups leave on the error queue is dropped, nothing else.
    ERR_set_mark();
    int clear = t != NULL && chain_is_clear(ctx, t);
    ERR_pop_to_mark();
    if (clear) {
        atomic_fetch_add_explicit(&t->accepted, 1, memory_order_relaxed);
        return 1;
    }
    if (t != NULL) atomic_fetch_add_explicit(&t->fallbacks, 1, memory_order_relaxed);
    return openssl_check_revocation(ctx);
}

void capgate_crl_fast_path_counts(X509_STORE *store, uint64_t *accepted, uint64_t *fallbacks) {
    pthread_once(&fp_once, fp_init);
    fp_table *t = fp_index < 0 ? NULL : X509_STORE_get_ex_data(store, fp_index);
    *accepted = t == NULL ? 0 : atomic_load_explicit(&t->accepted, memory_order_relaxed);
    *fallbacks = t == NULL ? 0 : atomic_load_explicit(&t->fallbacks, memory_order_relaxed);
}

int capgate_crl_fast_path_install(X509_STORE *store) {
    pthread_once(&fp_once, fp_init);
    if (fp_index < 0 || openssl_check_revocation == NULL) return -1;
    // Only over OpenSSL's own CRL machinery: no custom lookup or check installed on the store.
    if (X509_STORE_get_check_revocation(store) != NULL || X509_STORE_get_get_crl(store) != NULL
        || X509_STORE_get_check_crl(store) != NULL || X509_STORE_get_cert_crl(store) != NULL
        || X509_STORE_get_lookup_crls(store) != NULL)
        return 0;
    STACK_OF(X509_OBJECT) *objects = X509_STORE_get0_objects(store);
    int n = sk_X509_OBJECT_num(objects);
    fp_table *t = calloc(1, sizeof(*t));
    if (t == NULL) return -1;
    t->pairs = calloc((size_t)(n > 0 ? n * n : 1), sizeof(fp_pair));
    if (t->pairs == NULL) { free(t); return -1; }
    for (int i = 0; i < n; i++) {
        X509_OBJECT *object = sk_X509_OBJECT_value(objects, i);
        if (X509_OBJECT_get_type(object) != X509_LU_CRL) continue;
        X509_CRL *crl = X509_OBJECT_get0_X509_CRL(object);
        if (!crl_is_simple(crl)) { fp_table_free(t); return 0; }
        for (int j = 0; j < n; j++) {
            X509_OBJECT *other = sk_X509_OBJECT_value(objects, j);
            if (j != i && X509_OBJECT_get_type(other) == X509_LU_CRL
                && X509_NAME_cmp(X509_CRL_get_issuer(X509_OBJECT_get0_X509_CRL(other)), X509_CRL_get_issuer(crl)) == 0) {
                fp_table_free(t);  // several CRLs for one issuer: OpenSSL picks among them
                return 0;
            }
        }
        for (int j = 0; j < n; j++) {
            X509_OBJECT *other = sk_X509_OBJECT_value(objects, j);
            if (X509_OBJECT_get_type(other) != X509_LU_X509) continue;
            X509 *cert = X509_OBJECT_get0_X509(other);
            if (!issuer_signs(crl, cert)) continue;
            if (!X509_CRL_up_ref(crl)) { fp_table_free(t); return -1; }
            if (!X509_up_ref(cert)) { X509_CRL_free(crl); fp_table_free(t); return -1; }
            t->pairs[t->count++] = (fp_pair){ crl, cert };
        }
    }
    if (!X509_STORE_set_ex_data(store, fp_index, t)) { fp_table_free(t); return -1; }
    X509_STORE_set_check_revocation(store, capgate_crl_fast_path_check);
    return 1;
}
