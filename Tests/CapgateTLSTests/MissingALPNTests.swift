import Testing
@testable import CapgateTLS
import CapgateTesting

/// `TLSServerMaterial.allowMissingALPN` (`capgate serve --allow-missing-alpn`, for TLS scanners
/// that cannot offer ALPN): only a hello WITHOUT the extension is let through; everything else
/// the strict server refuses, this one refuses too.
@Suite struct MissingALPNTests {
    let pki = TestPKI.shared

    private func engines(allowMissing: Bool, alpn: [String], client cert: TestIdentity?)
        throws -> (client: TLSEngine, server: TLSEngine) {
        var material = pki.serverMaterial(crl: nil)
        material.allowMissingALPN = allowMissing
        let server = try TLSContext.server(material: material)
        let client = try TLSContext.client(material: pki.clientMaterial(cert), serverName: "localhost",
                                           alpnProtocols: alpn)
        return (try client.makeEngine(), try server.makeEngine())
    }

    @Test func defaultIsStrict() {
        #expect(TLSServerMaterial(certificateChainPEM: [], privateKeyPEM: [], trustBundlePEM: []).allowMissingALPN == false)
    }

    @Test func helloWithoutALPNCompletesWhenAllowed() throws {
        let (client, server) = try engines(allowMissing: true, alpn: [], client: pki.goodClient)
        let result = try Shuttle.handshake(client: client, server: server)
        #expect(result.server == .done)
        #expect(result.client == .done)
        #expect(server.negotiatedALPN == nil)
        // The identity rules still apply in full.
        #expect(try server.peerIdentity().spiffeID.description == TestPKI.goodID)
    }

    @Test func helloWithoutALPNIsStillRefusedByDefault() throws {
        let (client, server) = try engines(allowMissing: false, alpn: [], client: pki.goodClient)
        let result = try Shuttle.handshake(client: client, server: server)
        #expect(result.server.failure != nil)
        #expect(result.client.failure != nil)
    }

    @Test func alpnWithoutH2IsStillRefusedWhenAllowed() throws {
        let (client, server) = try engines(allowMissing: true, alpn: ["http/1.1"], client: pki.goodClient)
        let result = try Shuttle.handshake(client: client, server: server)
        #expect(result.server.failure != nil)
        #expect(result.client.failure?.openSSLErrors.joined().contains("no application protocol") == true)
    }

    @Test func h2IsStillNegotiatedWhenAllowed() throws {
        let (client, server) = try engines(allowMissing: true, alpn: ["http/1.1", "h2"], client: pki.goodClient)
        let result = try Shuttle.handshake(client: client, server: server)
        #expect(result.server == .done)
        #expect(server.negotiatedALPN == "h2")
    }

    @Test func clientCertificateIsStillMandatoryWhenAllowed() throws {
        let (client, server) = try engines(allowMissing: true, alpn: [], client: nil)
        let result = try Shuttle.handshake(client: client, server: server)
        #expect(result.server.failure != nil)
    }
}
