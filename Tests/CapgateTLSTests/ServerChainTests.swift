import COpenSSL
import CapgatePKI
import CapgateTesting
import COpenSSLShims
import Foundation
import Testing
@testable import CapgateTLS

/// The server's presented chain is built once per context (TLSContext.buildServerChainOnce),
/// not re-verified on every handshake: the leaf and its intermediates, without the self-signed
/// root, which every client that can verify the server already holds.
@Suite struct ServerChainTests {
    /// Subjects (one line each) of the chain a client received, leaf first.
    func presentedChain(crl: [UInt8]? = nil) throws -> [String] {
        let (client, server) = try Shuttle.engines(client: TestPKI.shared.goodClient, crl: crl)
        let result = try Shuttle.handshake(client: client, server: server)
        try #require(result.client == .done && result.server == .done)
        return subjects(client)
    }

    func subjects(_ client: TLSEngine) -> [String] {
        guard let chain = SSL_get_peer_cert_chain(client.ssl) else { return [] }
        return (0..<OPENSSL_sk_num(chain)).compactMap { i in
            guard let raw = OPENSSL_sk_value(chain, i) else { return nil }
            var buffer = [CChar](repeating: 0, count: 256)
            X509_NAME_oneline(X509_get_subject_name(OpaquePointer(raw)), &buffer, 256)
            return String(cString: buffer)
        }
    }

    @Test func leafIssuedByTheRootIsSentAlone() throws {
        // The server file holds the leaf only; its issuer, a self-signed root, is in the verify
        // store. OpenSSL's auto-chaining sent leaf + root; the root is left out now (the client
        // verifies against its own copy, and the handshake above completed).
        let chain = try presentedChain()
        #expect(chain.count == 1)
        #expect(chain.first?.contains("localhost") == true)
        // With CRL checking on (the store flags the old per-handshake build ran under).
        #expect(try presentedChain(crl: TestPKI.shared.crl) == chain)
    }

    @Test func intermediatesAreSentButNotTheRoot() throws {
        // root -> intermediate -> server leaf; the server's store holds both CAs (and the test
        // client's CA), its file the leaf only; the client trusts the root only, so it needs
        // the intermediate on the wire.
        let root = TestCA("chain root", pathLength: nil)
        let now = Int64(Date().timeIntervalSince1970)
        var spec = LeafSpec(commonName: "chain intermediate", notBefore: now - 3600, notAfter: now + 86_400)
        spec.serialHex = "7007"
        spec.basicConstraints = .ca(pathLength: 0)
        spec.keyUsage = [.keyCertSign, .cRLSign]
        spec.extendedKeyUsage = nil
        spec.uriSANs = ["spiffe://example.org"]
        let issued = try root.authority.issueLeaf(spec)
        let intermediate = try CertificateAuthority(certificate: issued.certificate, privateKey: issued.privateKey,
                                                    trustDomain: "example.org")
        var leafSpec = LeafSpec(commonName: "localhost", notBefore: now - 3600, notAfter: now + 86_400)
        leafSpec.serialHex = "7008"
        leafSpec.extendedKeyUsage = [.serverAuth]
        leafSpec.dnsSANs = ["localhost"]
        let leaf = try intermediate.issueLeaf(leafSpec)
        let intermediatePEM = try issued.certificate.pemBytes()
        let pki = TestPKI.shared
        let material = TLSServerMaterial(certificateChainPEM: try leaf.certificate.pemBytes(),
                                         privateKeyPEM: try leaf.privateKey.pemBytes(),
                                         trustBundlePEM: root.certPEM + intermediatePEM + pki.ca.certPEM, crlPEM: nil)
        let server = try TLSContext.server(material: material)
        let client = try TLSContext.client(material: TLSClientMaterial(certificateChainPEM: pki.goodClient.certPEM,
                                                                       privateKeyPEM: pki.goodClient.keyPEM,
                                                                       trustBundlePEM: root.certPEM),
                                           serverName: "localhost", alpnProtocols: ["h2"])
        let (c, s) = (try client.makeEngine(), try server.makeEngine())
        let result = try Shuttle.handshake(client: c, server: s)
        // The client verified the server through the intermediate it received.
        try #require(result.client == .done && result.server == .done)
        #expect(SSL_get_verify_result(c.ssl) == Int(X509_V_OK))
        let chain = subjects(c)
        #expect(chain.count == 2)
        #expect(chain.first?.contains("localhost") == true)
        #expect(chain.last?.contains("chain intermediate") == true)
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
