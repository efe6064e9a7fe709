/* LD_PRELOAD shim for `make scan` (tools/hardening/scan.py): makes every OpenSSL client object
 * that the scanner's `openssl s_client` creates offer ALPN "h2" and, when CAPGATE_SCAN_CERT and
 * CAPGATE_SCAN_KEY are set, present that client certificate. capgate refuses a ClientHello
 * without ALPN h2 before its ServerHello (docs/hardening.md), and testssl.sh 3.0.8 can do
 * neither, so without this it would see nothing offered at all. Only SSL_new is wrapped; the
 * handshake itself is the scanner's. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <openssl/ssl.h>
#include <stdlib.h>

SSL *SSL_new(SSL_CTX *ctx) {
    static SSL *(*real)(SSL_CTX *) = NULL;
    if (!real) real = (SSL *(*)(SSL_CTX *))dlsym(RTLD_NEXT, "SSL_new");
    SSL *s = real(ctx);
    if (!s) return s;
    static const unsigned char h2[] = {2, 'h', '2'};
    SSL_set_alpn_protos(s, h2, sizeof h2);
    const char *cert = getenv("CAPGATE_SCAN_CERT"), *key = getenv("CAPGATE_SCAN_KEY");
    if (cert && key && SSL_is_server(s) == 0) {
        SSL_use_certificate_chain_file(s, cert);
        SSL_use_PrivateKey_file(s, key, SSL_FILETYPE_PEM);
    }
    return s;
}
