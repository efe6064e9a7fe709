@testable import CapgateTLS
import COpenSSL

/// One shared set of throwaway certificates (built once; EC keygen is cheap but not free).
struct TestPKI: Sendable {
    static let shared = TestPKI()

    static let goodID = "spiffe://example.org/ns/prod/sa/agent"
    static let goodSerial = 0x1001
    static let revokedSerial = 0x2002

    let ca: TestCertificate
    let otherCA: TestCertificate
    let server: TestCertificate
    let goodClient: TestCertificate
    let twoURIClient: TestCertificate
    let noURIClient: TestCertificate
    let caLeafClient: TestCertificate
    let serverAuthOnlyClient: TestCertificate
    let expiredClient: TestCertificate
    let otherCAClient: TestCertificate
    let revokedClient: TestCertificate
    /// CRL from `ca` revoking `revokedSerial`.
    let crl: [UInt8]

    init() {
        ca = TestCertificateFactory.makeCA(cn: "capgate test CA")
        otherCA = TestCertificateFactory.makeCA(cn: "someone else's CA")
        server = ca.issue(cn: "localhost", serial: 0x10, extensions: [
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, "critical,digitalSignature"),
            (NID_ext_key_usage, "serverAuth"),
            (NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"),
        ])
        let good = TestCertificateFactory.clientExtensions(san: "URI:\(Self.goodID)")
        goodClient = ca.issue(cn: "agent", serial: Self.goodSerial, extensions: good)
        twoURIClient = ca.issue(cn: "two", serial: 0x1002, extensions: TestCertificateFactory.clientExtensions(
            san: "URI:spiffe://example.org/a,URI:spiffe://example.org/b"))
        noURIClient = ca.issue(cn: "nouri", serial: 0x1003, extensions: TestCertificateFactory.clientExtensions(
            san: "DNS:client.example.org"))
        caLeafClient = ca.issue(cn: "caleaf", serial: 0x1004, extensions: [
            (NID_basic_constraints, "critical,CA:TRUE"),
            (NID_subject_alt_name, "URI:\(Self.goodID)"),
        ])
        serverAuthOnlyClient = ca.issue(cn: "srvonly", serial: 0x1005, extensions: [
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, "critical,digitalSignature"),
            (NID_ext_key_usage, "serverAuth"),
            (NID_subject_alt_name, "URI:\(Self.goodID)"),
        ])
        expiredClient = ca.issue(cn: "expired", serial: 0x1006, extensions: good,
                                 validFrom: -2 * 86_400, validUntil: -86_400)
        otherCAClient = otherCA.issue(cn: "stranger", serial: 0x1007, extensions: good)
        revokedClient = ca.issue(cn: "revoked", serial: Self.revokedSerial, extensions: good)
        crl = ca.crl(revoking: [Self.revokedSerial])
    }

    func serverMaterial(crl: [UInt8]? = nil) -> TLSServerMaterial {
        TLSServerMaterial(certificateChainPEM: server.pem, privateKeyPEM: server.key.pem,
                          trustBundlePEM: ca.pem, crlPEM: crl)
    }

    func clientMaterial(_ cert: TestCertificate?) -> TLSClientMaterial {
        TLSClientMaterial(certificateChainPEM: cert?.pem, privateKeyPEM: cert?.key.pem, trustBundlePEM: ca.pem)
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
    static func engines(client cert: TestCertificate?, crl: [UInt8]? = nil, serverName: String = "localhost",
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
