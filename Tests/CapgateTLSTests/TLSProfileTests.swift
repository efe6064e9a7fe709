import COpenSSL
import COpenSSLShims
import Testing
@testable import CapgateTLS

/// The server profile against clients capgate's own client factory would never build.
@Suite struct TLSProfileTests {
    let pki = TestPKI.shared

    /// A client engine over a raw SSL_CTX with a valid identity and ALPN h2, after `configure`.
    func rawClient(_ configure: (OpaquePointer) -> Void) throws -> TLSEngine {
        let ctx = try #require(SSL_CTX_new(TLS_client_method()))
        let context = TLSContext(ctx: ctx, role: .client, serverName: "localhost", serverNameIsIP: false,
                                 requiredALPN: nil)
        try TLSContext.loadTrustBundle(ctx, pem: pki.ca.certPEM, advertise: false)
        try TLSContext.loadIdentity(ctx, chainPEM: pki.goodClient.certPEM, keyPEM: pki.goodClient.keyPEM)
        let alpn: [UInt8] = [2, 0x68, 0x32]
        try #require(SSL_CTX_set_alpn_protos(ctx, alpn, 3) == 0)
        configure(ctx)
        return try context.makeEngine()
    }

    func server() throws -> TLSEngine { try TLSContext.server(material: pki.serverMaterial()).makeEngine() }

    @Test func rawClientBaselineIsAccepted() throws {
        let result = try Shuttle.handshake(client: rawClient { _ in }, server: server())
        #expect(result.server == .done)
    }

    @Test func tls12ClientIsRefused() throws {
        let client = try rawClient { _ = capgate_ssl_ctx_set_max_proto_version($0, TLS1_2_VERSION) }
        let result = try Shuttle.handshake(client: client, server: server())
        #expect(result.server.failure?.kind == .handshakeFailed)
        #expect(result.client.failure != nil)
    }

    @Test(arguments: ["X448", "P-521", "ffdhe2048"])
    func groupsOutsideTheProfileAreRefused(_ group: String) throws {
        let client = try rawClient { _ = capgate_ssl_ctx_set1_groups_list($0, group) }
        let result = try Shuttle.handshake(client: client, server: server())
        #expect(result.server.failure != nil)
    }

    @Test(arguments: ["X25519", "P-256", "P-384"])
    func groupsInTheProfileAreAccepted(_ group: String) throws {
        let client = try rawClient { _ = capgate_ssl_ctx_set1_groups_list($0, group) }
        let result = try Shuttle.handshake(client: client, server: server())
        #expect(result.server == .done)
    }

    /// Resumption is off (TLSContext+Server.swift): a resumed session would skip the
    /// certificate check after a CRL or bundle reload.
    @Test func serverIssuesNoResumableSession() throws {
        let (client, server) = try Shuttle.engines(client: pki.goodClient)
        let result = try Shuttle.handshake(client: client, server: server)
        try #require(result.server == .done)
        _ = try server.writePlaintext(Array("ping".utf8))
        try Shuttle.pump(server, client)
        #expect(Shuttle.readAll(client).bytes == Array("ping".utf8))  // processes any ticket too
        let session = try #require(SSL_get_session(client.ssl))
        #expect(SSL_SESSION_is_resumable(session) == 0)
    }
}
