import COpenSSL
import COpenSSLShims
import Testing
@testable import CapgateTLS

/// The server's presented chain is built once per context (TLSContext.buildServerChainOnce),
/// not re-verified on every handshake, and the wire carries the same certificates as before.
@Suite struct ServerChainTests {
    /// Subjects (one line each) of the chain a client received, leaf first.
    func presentedChain(crl: [UInt8]? = nil) throws -> [String] {
        let (client, server) = try Shuttle.engines(client: TestPKI.shared.goodClient, crl: crl)
        let result = try Shuttle.handshake(client: client, server: server)
        try #require(result.client == .done && result.server == .done)
        guard let chain = SSL_get_peer_cert_chain(client.ssl) else { return [] }
        return (0..<OPENSSL_sk_num(chain)).compactMap { i in
            guard let raw = OPENSSL_sk_value(chain, i) else { return nil }
            var buffer = [CChar](repeating: 0, count: 256)
            X509_NAME_oneline(X509_get_subject_name(OpaquePointer(raw)), &buffer, 256)
            return String(cString: buffer)
        }
    }

    @Test func leafOnlyFileStillPresentsTheIssuingCA() throws {
        // The server file holds the leaf only; the CA is in the verify store: the client gets
        // leaf + CA, which is what OpenSSL's per-handshake auto-chaining sent.
        let chain = try presentedChain()
        #expect(chain.count == 2)
        #expect(chain.last?.contains("capgate test CA") == true)
        // With CRL checking on (the store flags the old per-handshake build ran under).
        #expect(try presentedChain(crl: TestPKI.shared.crl) == chain)
    }

    @Test func perHandshakeChainBuildingIsOff() throws {
        let context = try TLSContext.server(material: TestPKI.shared.serverMaterial(crl: TestPKI.shared.crl))
        let mode = capgate_ssl_ctx_set_mode(context.ctx, 0)  // adding no bits returns the mode
        #expect(mode & capgate_ssl_mode_no_auto_chain() != 0)
        #expect(mode & capgate_ssl_mode_release_buffers() != 0)
    }

    @Test func anExplicitChainIsSentAsGiven() throws {
        // leaf + a certificate the verify store does not know (someone else's CA): OpenSSL
        // never rebuilds over an explicit chain, and neither does the build-once step.
        let pki = TestPKI.shared
        let material = TLSServerMaterial(certificateChainPEM: pki.server.certPEM + pki.otherCA.certPEM,
                                         privateKeyPEM: pki.server.keyPEM, trustBundlePEM: pki.ca.certPEM, crlPEM: nil)
        let server = try TLSContext.server(material: material)
        let client = try TLSContext.client(material: pki.clientMaterial(pki.goodClient), serverName: "localhost",
                                           alpnProtocols: ["h2"])
        let (c, s) = (try client.makeEngine(), try server.makeEngine())
        _ = try Shuttle.handshake(client: c, server: s)
        guard let chain = SSL_get_peer_cert_chain(c.ssl) else { Issue.record("no chain"); return }
        #expect(OPENSSL_sk_num(chain) == 2)
        var buffer = [CChar](repeating: 0, count: 256)
        X509_NAME_oneline(X509_get_subject_name(OpaquePointer(OPENSSL_sk_value(chain, 1))), &buffer, 256)
        #expect(String(cString: buffer).contains("someone else's CA"))
    }
}
