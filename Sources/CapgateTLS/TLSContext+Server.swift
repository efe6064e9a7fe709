import CapgateX509
import COpenSSL
import COpenSSLShims

// Session resumption: OFF (no tickets, no server cache). WHY: a resumed TLS 1.3 session skips
// certificate verification, so a client revoked by a CRL reload, or whose CA was removed from
// the trust bundle, would keep getting in on its ticket; ticket keys would also have to be
// shared and rotated across event loops. A full mTLS handshake costs about 0.5 ms here
// (docs/platform-notes.md: ~1.9k/s), negligible for long-lived HTTP/2 connections.

extension TLSContext {
    /// The mTLS server profile from PEM files (see ``server(material:)``).
    public static func server(certificateChainPEM certificateChainPath: String, privateKey privateKeyPath: String,
                              trustBundle trustBundlePath: String, crl crlPath: String? = nil) throws(TLSError) -> TLSContext {
        try server(material: .load(certificateChainPath: certificateChainPath, privateKeyPath: privateKeyPath,
                                   trustBundlePath: trustBundlePath, crlPath: crlPath))
    }

    /// The mTLS server profile: TLS 1.3 only, client certificate MANDATORY and verified against
    /// `trustBundlePEM` (purpose sslclient, depth ≤ ``verifyDepth``), every certificate of the
    /// chain checked against the CRLs when given, ALPN `h2` required (fatal `no_application_protocol` alert otherwise).
    ///
    /// Identity is NOT decided here: after the handshake call ``TLSEngine/peerIdentity()``.
    public static func server(material: TLSServerMaterial) throws(TLSError) -> TLSContext {
        try server(material: material, crlFastPath: true)
    }

    /// `crlFastPath: false` keeps OpenSSL's own revocation check alone: the reference the
    /// tests hold the fast path to (crl_fast_path.c).
    static func server(material: TLSServerMaterial, crlFastPath: Bool) throws(TLSError) -> TLSContext {
        OpenSSLErrorQueue.clear()
        guard let ctx = SSL_CTX_new(TLS_server_method()) else {
            throw TLSError.drained(.configuration, "SSL_CTX_new failed")
        }
        // From here on the wrapper owns ctx: any throw frees it through deinit.
        let context = TLSContext(ctx: ctx, role: .server, serverName: nil, serverNameIsIP: false,
                                 requiredALPN: h2)
        try applyCommonProfile(ctx)
        try loadIdentity(ctx, chainPEM: material.certificateChainPEM, keyPEM: material.privateKeyPEM)
        // Every anchor goes into the one store OpenSSL verifies against; which trust domains
        // each may vouch for is checked after the handshake (TrustDomainBinding).
        let binding = try TrustDomainBinding(bundle: material.trustBundlePEM,
                                             trustDomainBundles: material.trustDomainBundlesPEM)
        try loadAnchors(ctx, der: binding.anchors, advertise: true)
        context.trustBinding = binding
        if let crlPEM = material.crlPEM { try loadCRLs(ctx, pem: crlPEM, fastPath: crlFastPath) }
        buildServerChainOnce(ctx)

        // Mandatory client certificate: no certificate is a handshake failure, not an anonymous
        // connection (docs/hardening.md: identity only from the verified chain).
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        SSL_CTX_set_verify_depth(ctx, verifyDepth)
        let sid: [UInt8] = Array("capgate".utf8)
        guard SSL_CTX_set_session_id_context(ctx, sid, UInt32(sid.count)) == 1 else {
            throw TLSError.drained(.configuration, "cannot set session id context")
        }
        // Two ALPN gates: the ClientHello callback refuses a hello without ALPN at all (the
        // select callback is never called in that case), the select callback picks h2.
        // With `allowMissingALPN` the first gate lets a hello without the extension through.
        context.alpnMayBeAbsent = material.allowMissingALPN
        SSL_CTX_set_client_hello_cb(ctx, material.allowMissingALPN ? ALPN.clientHelloCallbackAllowingAbsent
                                                                   : ALPN.clientHelloCallback, nil)
        SSL_CTX_set_alpn_select_cb(ctx, ALPN.selectCallback, nil)
        return context
    }

    /// The chain the server presents, built once here instead of on every handshake.
    ///
    /// Why: with only a leaf configured, OpenSSL builds the server's chain from the verify store
    /// during EVERY handshake (X509_verify_cert on our own certificate, CRL checks included,
    /// since the store carries the CRL flags): a second chain verification per handshake, about
    /// a third of the handshake's instructions (docs/benchmarks.md, handshakes). Building it
    /// once with the same store and the same error tolerance (a chain that does not verify is
    /// sent as far as it was built) puts the leaf and its intermediates on the wire;
    /// NO_AUTO_CHAIN then stops the per-handshake rebuild. An explicit chain in the certificate
    /// file is used as given, as before.
    ///
    /// The self-signed root at the end of the built chain is left out (`NO_ROOT`; OpenSSL's
    /// auto-chaining used to send it): RFC 8446 section 4.4.2 lets a server omit the trust
    /// anchor, and a client can never use it from the wire, since a self-signed certificate
    /// is trusted only when the client already holds it. Sending it anyway made every client
    /// parse one more certificate per handshake (its public key decode is the costly part):
    /// ~0.1 ms of the client's CPU in the bench, where client and server share two cores, so
    /// the server's own handshake rate paid for it (nginx, given only the leaf, sends the leaf
    /// alone). Intermediates are still sent: a client that trusts only the root needs them.
    static func buildServerChainOnce(_ ctx: OpaquePointer) {
        OpenSSLErrorQueue.clear()
        let built = capgate_ssl_ctx_build_cert_chain_once(ctx)
        OpenSSLErrorQueue.clear()
        // 0: OpenSSL could not build at all (keep its per-handshake behaviour); -1: explicit
        // chain, which OpenSSL never auto-builds over.
        if built > 0 { _ = capgate_ssl_ctx_set_mode(ctx, capgate_ssl_mode_no_auto_chain()) }
    }

    /// Adds the CRLs and turns on revocation checking of the WHOLE client chain
    /// (`X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL`).
    static func loadCRLs(_ ctx: OpaquePointer, pem: [UInt8], fastPath: Bool) throws(TLSError) {
        let crls = try TLSPEM.crls(pem)
        defer { withExtendedLifetime(crls) {} }
        guard let store = SSL_CTX_get_cert_store(ctx) else {
            throw TLSError.drained(.configuration, "context has no certificate store")
        }
        for crl in crls {
            OpenSSLErrorQueue.clear()
            guard X509_STORE_add_crl(store, crl.pointer) == 1 else {
                throw TLSError.drained(.invalidCRL, "CRL: cannot add to store")
            }
        }
        // The whole chain, not just the leaf: an intermediate CA revoked by its root's CRL must
        // stop vouching for its leaves (issue 14 finding 11). OpenSSL 3.0 checks the self-signed
        // anchor too, against its own CRL, so a root -> leaf PKI (capgate pki) needs nothing more
        // than the root's CRL; with an intermediate, the file must hold the CRL of EVERY
        // issuing CA (root's and intermediate's), else the handshake fails closed with
        // "unable to get certificate CRL" (certs/README.md).
        guard X509_STORE_set_flags(store, UInt(X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL)) == 1 else {
            throw TLSError.drained(.configuration, "cannot enable CRL checking")
        }
        // Each CRL's signature verified here, once per context, instead of by OpenSSL for every
        // chain certificate of every handshake; anything outside the simple profile, and every
        // chain the fast path cannot prove clear, gets OpenSSL's own check (crl_fast_path.c,
        // README "CRL signature once per context"). Not installed (0, or -1 out of memory):
        // OpenSSL's check stays as it was, so nothing to report.
        guard fastPath else { return }
        OpenSSLErrorQueue.clear()
        _ = capgate_crl_fast_path_install(store)
        OpenSSLErrorQueue.clear()
    }

    /// How many client chains the CRL fast path accepted on this context, and how many it
    /// handed to OpenSSL's full check (tests; both 0 without a CRL or outside the profile).
    var crlFastPathCounts: (accepted: UInt64, fallbacks: UInt64) {
        var accepted: UInt64 = 0, fallbacks: UInt64 = 0
        if let store = SSL_CTX_get_cert_store(ctx) { capgate_crl_fast_path_counts(store, &accepted, &fallbacks) }
        return (accepted, fallbacks)
    }
}
