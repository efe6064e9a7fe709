import Testing
@testable import CapgateTLS

/// In-memory handshakes between a client and a server engine: the mTLS acceptance matrix.
@Suite struct TLSEngineHandshakeTests {
    let pki = TestPKI.shared

    @Test func goodClientIsAcceptedAndIdentified() throws {
        let (client, server) = try Shuttle.engines(client: pki.goodClient)
        let result = try Shuttle.handshake(client: client, server: server)
        #expect(result.client == .done)
        #expect(result.server == .done)
        #expect(client.isHandshakeComplete && server.isHandshakeComplete)
        #expect(server.negotiatedALPN == "h2")
        #expect(client.negotiatedALPN == "h2")
        #expect(server.peerCertificate == pki.goodClient.der)
        let identity = try server.peerIdentity()
        #expect(identity.spiffeID.description == TestPKI.goodID)
        #expect(identity.spiffeID.trustDomain == "example.org")
        #expect(identity.serialHex == "1001")
        // The client verified the server too.
        #expect(client.peerCertificate == pki.server.der)
    }

    @Test func serverIsVerifiedByIPLiteral() throws {
        let (client, server) = try Shuttle.engines(client: pki.goodClient, serverName: "127.0.0.1")
        let result = try Shuttle.handshake(client: client, server: server)
        #expect(result.client == .done)
        #expect(result.server == .done)
    }

    @Test func serverWithWrongNameIsRefusedByClient() throws {
        let (client, server) = try Shuttle.engines(client: pki.goodClient, serverName: "evil.example.com")
        let result = try Shuttle.handshake(client: client, server: server)
        #expect(result.client.failure?.kind == .peerVerificationFailed)
        #expect(server.isHandshakeComplete == false)
    }

    @Test func clientWithoutCertificateIsRefused() throws {
        let (client, server) = try Shuttle.engines(client: nil)
        try expectServerRefuses(client: client, server: server)
        #expect(server.peerCertificate == nil)
        #expect(throws: PeerIdentityError.noVerifiedCertificate) { try server.peerIdentity() }
    }

    @Test func clientFromAnotherCAIsRefused() throws {
        let (client, server) = try Shuttle.engines(client: pki.otherCAClient)
        let error = try expectServerRefuses(client: client, server: server)
        #expect(error.kind == .peerVerificationFailed)
    }

    @Test func expiredClientIsRefused() throws {
        let (client, server) = try Shuttle.engines(client: pki.expiredClient)
        let error = try expectServerRefuses(client: client, server: server)
        #expect(error.kind == .peerVerificationFailed)
        #expect(error.message.contains("expired"))
    }

    @Test func serverAuthOnlyClientIsRefusedByPurposeCheck() throws {
        let (client, server) = try Shuttle.engines(client: pki.serverAuthOnlyClient)
        let error = try expectServerRefuses(client: client, server: server)
        #expect(error.kind == .peerVerificationFailed)
    }

    @Test func revokedClientIsRefusedWithCRL() throws {
        let (client, server) = try Shuttle.engines(client: pki.revokedClient, crl: pki.crl)
        let error = try expectServerRefuses(client: client, server: server)
        #expect(error.kind == .peerVerificationFailed)
        #expect(error.message.contains("revoked"))
    }

    @Test func unrevokedClientIsAcceptedWithCRL() throws {
        let (client, server) = try Shuttle.engines(client: pki.goodClient, crl: pki.crl)
        let result = try Shuttle.handshake(client: client, server: server)
        #expect(result.server == .done)
        #expect(result.client == .done)
    }

    @Test func alpnWithoutH2IsRefused() throws {
        let (client, server) = try Shuttle.engines(client: pki.goodClient, alpn: ["http/1.1"])
        let result = try Shuttle.handshake(client: client, server: server)
        #expect(result.server.failure?.kind == .handshakeFailed)
        #expect(result.client.failure != nil)
        #expect(result.client.failure?.openSSLErrors.joined().contains("no application protocol") == true)
    }

    @Test func missingALPNExtensionIsRefused() throws {
        let (client, server) = try Shuttle.engines(client: pki.goodClient, alpn: [])
        let result = try Shuttle.handshake(client: client, server: server)
        #expect(result.server.failure != nil)
        #expect(result.client.failure != nil)
        #expect(server.negotiatedALPN == nil)
    }

    @Test func readingEarlyCannotBypassTheHandshakeChecks() throws {
        let (client, server) = try Shuttle.engines(client: pki.otherCAClient)
        _ = client.handshake()
        try Shuttle.pump(client, server)
        var buffer = [UInt8](repeating: 0, count: 1024)
        var sawError = false
        for _ in 0..<8 {
            let r = buffer.withUnsafeMutableBytes { server.readPlaintext(into: $0) }
            if case .error = r { sawError = true; break }
            try Shuttle.pump(server, client)
            _ = client.handshake()
            try Shuttle.pump(client, server)
        }
        #expect(sawError)
        #expect(server.peerCertificate == nil)
        #expect(throws: TLSError.self) { try server.writePlaintext(Array("x".utf8)) }
    }

    /// TLS 1.3 shape (docs/platform-notes.md): the client finishes its side first; the server's refusal
    /// reaches it as an alert on its first read.
    @discardableResult
    func expectServerRefuses(client: TLSEngine, server: TLSEngine) throws -> TLSError {
        let result = try Shuttle.handshake(client: client, server: server)
        let error = try #require(result.server.failure)
        #expect(server.isHandshakeComplete == false)
        let (bytes, last) = Shuttle.readAll(client)
        #expect(bytes.isEmpty)
        guard case .error = last else {
            Issue.record("client should see the server's alert, got \(last)")
            return error
        }
        return error
    }
}

/// One context shared by many threads (the event-loop model): engines are created and driven
/// concurrently, one per task, from the same `TLSContext` pair.
@Suite struct TLSContextSharingTests {
    @Test func concurrentHandshakesOnSharedContexts() async throws {
        let pki = TestPKI.shared
        let server = try TLSContext.server(material: pki.serverMaterial(crl: pki.crl))
        let client = try TLSContext.client(material: pki.clientMaterial(pki.goodClient), serverName: "localhost")
        let identities = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    let c = try client.makeEngine()
                    let s = try server.makeEngine()
                    let result = try Shuttle.handshake(client: c, server: s)
                    guard result.server == .done else { return "failed" }
                    return try s.peerIdentity().spiffeID.description
                }
            }
            var out: [String] = []
            for try await id in group { out.append(id) }
            return out
        }
        #expect(identities.count == 16)
        #expect(identities.allSatisfy { $0 == TestPKI.goodID })
    }
}
