@testable import CapgateTLS
import CapgateTesting

/// One shared set of throwaway certificates (built once; EC keygen is cheap but not free),
/// issued by CapgateTesting's test PKI. One CA signs the server and the clients, and both
/// sides trust it.
struct TestPKI: Sendable {
    static let shared = TestPKI()

    static let goodID = "spiffe://example.org/ns/prod/sa/agent"
    static let goodSerial = 0x1001
    static let revokedSerial = 0x2002

    let ca: TestCA
    let otherCA: TestCA
    let server: TestIdentity
    let goodClient: TestIdentity
    let twoURIClient: TestIdentity
    let noURIClient: TestIdentity
    let caLeafClient: TestIdentity
    let serverAuthOnlyClient: TestIdentity
    let expiredClient: TestIdentity
    let otherCAClient: TestIdentity
    let revokedClient: TestIdentity
    /// CRL from `ca` revoking `revokedSerial`.
    let crl: [UInt8]

    init() {
        ca = TestCA("capgate test CA")
        otherCA = TestCA("someone else's CA")
        server = ca.server(serial: 0x10)
        goodClient = ca.client("agent", serial: Self.goodSerial, uris: [Self.goodID])
        twoURIClient = ca.client("two", serial: 0x1002, uris: ["spiffe://example.org/a", "spiffe://example.org/b"])
        noURIClient = ca.issue("nouri", serial: 0x1003) { $0.dnsSANs = ["client.example.org"] }
        caLeafClient = ca.caLeaf("caleaf", serial: 0x1004, uri: Self.goodID)
        serverAuthOnlyClient = ca.serverAuthOnly("srvonly", serial: 0x1005, uri: Self.goodID)
        expiredClient = ca.client("expired", serial: 0x1006, uris: [Self.goodID],
                                  validFrom: -2 * 86_400, validUntil: -86_400)
        otherCAClient = otherCA.client("stranger", serial: 0x1007, uris: [Self.goodID])
        revokedClient = ca.client("revoked", serial: Self.revokedSerial, uris: [Self.goodID])
        crl = ca.crl(revoking: [Self.revokedSerial])
    }

    func serverMaterial(crl: [UInt8]? = nil) -> TLSServerMaterial {
        TLSServerMaterial(certificateChainPEM: server.certPEM, privateKeyPEM: server.keyPEM,
                          trustBundlePEM: ca.certPEM, crlPEM: crl)
    }

    func clientMaterial(_ cert: TestIdentity?) -> TLSClientMaterial {
        TLSClientMaterial(certificateChainPEM: cert?.certPEM, privateKeyPEM: cert?.keyPEM, trustBundlePEM: ca.certPEM)
    }
}

/// Moves bytes between two engines, like two sockets would.
enum Shuttle {
    /// Sends everything `from` produced to `to`; returns the number of bytes moved.
    @discardableResult
    static func pump(_ from: TLSEngine, _ to: TLSEngine) throws -> Int {
        var bytes: [UInt8] = []
        from.drainCiphertext(into: &bytes)
        try to.feed(bytes)
        return bytes.count
    }

    /// Runs both handshakes to completion or failure (bounded number of flights, no clock).
    static func handshake(client: TLSEngine, server: TLSEngine)
        throws -> (client: TLSEngine.HandshakeResult, server: TLSEngine.HandshakeResult) {
        var c = TLSEngine.HandshakeResult.wantIO
        var s = TLSEngine.HandshakeResult.wantIO
        for _ in 0..<16 {
            if c == .wantIO { c = client.handshake() }
            try pump(client, server)
            if s == .wantIO { s = server.handshake() }
            try pump(server, client)
            if c != .wantIO && s != .wantIO { break }
        }
        return (c, s)
    }

    /// Reads all plaintext currently decryptable by `engine`.
    static func readAll(_ engine: TLSEngine) -> (bytes: [UInt8], last: TLSEngine.ReadResult) {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let result = buffer.withUnsafeMutableBytes { engine.readPlaintext(into: $0) }
            guard case .bytes(let n) = result else { return (out, result) }
            out.append(contentsOf: buffer[0..<n])
        }
    }

    /// Client and server engines for the standard test server (optionally with a CRL).
    static func engines(client cert: TestIdentity?, crl: [UInt8]? = nil, serverName: String = "localhost",
                        alpn: [String] = ["h2"]) throws -> (client: TLSEngine, server: TLSEngine) {
        let pki = TestPKI.shared
        let server = try TLSContext.server(material: pki.serverMaterial(crl: crl))
        let client = try TLSContext.client(material: pki.clientMaterial(cert), serverName: serverName,
                                           alpnProtocols: alpn)
        return (try client.makeEngine(), try server.makeEngine())
    }
}

extension TLSEngine.HandshakeResult {
    var failure: TLSError? {
        if case .failed(let error) = self { return error }
        return nil
    }
}
