import CapgateX509
import COpenSSL
import COpenSSLShims
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension TLSContext {
    /// The h2 client profile from PEM files (see ``client(material:serverName:alpnProtocols:)``).
    public static func client(certificate certificatePath: String?, key keyPath: String?,
                              trustBundle trustBundlePath: String, serverName: String) throws(TLSError) -> TLSContext {
        try client(material: .load(certificatePath: certificatePath, keyPath: keyPath, trustBundlePath: trustBundlePath),
                   serverName: serverName)
    }

    /// The client profile used by capgate's Swift client: TLS 1.3 only, server certificate
    /// verified against `trustBundlePEM` and matched to `serverName` (DNS name, no partial
    /// wildcards, or IP literal against an IP SAN), ALPN offering `alpnProtocols`.
    ///
    /// - Parameter alpnProtocols: `["h2"]` in production; other lists exist so tests can prove
    ///   the server refuses them. When the list is exactly `["h2"]` the handshake also fails
    ///   unless the server selected `h2`.
    public static func client(material: TLSClientMaterial, serverName: String,
                              alpnProtocols: [String] = [h2]) throws(TLSError) -> TLSContext {
        guard !serverName.isEmpty else { throw TLSError(.configuration, "client: empty server name") }
        // An empty list sends no ALPN extension at all (tests of the server's ClientHello gate).
        let alpnWire = ALPN.wireList(alpnProtocols)
        guard alpnWire != nil || alpnProtocols.isEmpty else {
            throw TLSError(.configuration, "client: invalid ALPN protocol list")
        }
        OpenSSLErrorQueue.clear()
        guard let ctx = SSL_CTX_new(TLS_client_method()) else {
            throw TLSError.drained(.configuration, "SSL_CTX_new failed")
        }
        let isIP = Self.isIPLiteral(serverName)
        let context = TLSContext(ctx: ctx, role: .client, serverName: serverName, serverNameIsIP: isIP,
                                 requiredALPN: alpnProtocols == [h2] ? h2 : nil)
        try applyCommonProfile(ctx)
        try loadTrustBundle(ctx, pem: material.trustBundlePEM, advertise: false)
        switch (material.certificateChainPEM, material.privateKeyPEM) {
        case let (chain?, key?): try loadIdentity(ctx, chainPEM: chain, keyPEM: key)
        case (nil, nil): break
        default: throw TLSError(.configuration, "client: certificate and key must be given together")
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        SSL_CTX_set_verify_depth(ctx, verifyDepth)

        // Name check lives in the verify parameters, so it is part of chain verification and a
        // mismatch aborts the handshake (RFC 6125; RFC 9110 section 4.3.4).
        guard let param = SSL_CTX_get0_param(ctx) else {
            throw TLSError.drained(.configuration, "context has no verify parameters")
        }
        OpenSSLErrorQueue.clear()
        if isIP {
            guard X509_VERIFY_PARAM_set1_ip_asc(param, serverName) == 1 else {
                throw TLSError.drained(.configuration, "client: bad IP literal \(serverName)")
            }
        } else {
            X509_VERIFY_PARAM_set_hostflags(param, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
            guard X509_VERIFY_PARAM_set1_host(param, serverName, 0) == 1 else {
                throw TLSError.drained(.configuration, "client: bad host name \(serverName)")
            }
        }
        // Note: SSL_CTX_set_alpn_protos returns 0 on SUCCESS (unlike most of OpenSSL).
        if let alpnWire, SSL_CTX_set_alpn_protos(ctx, alpnWire, UInt32(alpnWire.count)) != 0 {
            throw TLSError.drained(.configuration, "client: cannot set ALPN")
        }
        return context
    }

    /// True for an IPv4 or IPv6 literal (those are matched against IP SANs and get no SNI).
    public static func isIPLiteral(_ name: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
    }
}
