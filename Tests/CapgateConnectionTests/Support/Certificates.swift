import CapgateTesting
import Foundation

/// The certificate set shared by all connection tests (keygen once), from CapgateTesting's
/// test PKI: separate client and server CAs, a second server CA for reloads, and the shapes
/// production must refuse (expired, two URI SANs, CA leaf, serverAuth-only, foreign CA).
final class TestCertificates: Sendable {
    static let shared = TestCertificates()
    static let agentID = "spiffe://example.org/agent/echo"

    let clientCA = TestCA("client CA")
    let serverCA = TestCA("server CA")
    let serverCA2 = TestCA("server CA 2")
    let strangerCA = TestCA("stranger CA")
    let server: TestIdentity
    let server2: TestIdentity
    let agent: TestIdentity
    let expired: TestIdentity
    let twoURIs: TestIdentity
    let caLeaf: TestIdentity
    let serverAuthOnly: TestIdentity
    let stranger: TestIdentity
    /// Directory with PEM files for curl.
    let directory: String

    private init() {
        server = serverCA.server(serial: 0x10)
        server2 = serverCA2.server(serial: 0x20)
        agent = clientCA.client("echo", serial: 0x100, uris: [Self.agentID])
        expired = clientCA.client("expired", serial: 0x101, uris: [Self.agentID],
                                  validFrom: -3 * 86_400, validUntil: -86_400)
        twoURIs = clientCA.client("two", serial: 0x102,
                                  uris: ["spiffe://example.org/agent/a", "spiffe://example.org/agent/b"])
        caLeaf = clientCA.caLeaf("caleaf", serial: 0x103, uri: Self.agentID)
        serverAuthOnly = clientCA.serverAuthOnly("srv", serial: 0x104, uri: Self.agentID)
        stranger = strangerCA.client("stranger", serial: 0x105, uris: [Self.agentID])
        let dir = NSTemporaryDirectory() + "capgate-conn-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        directory = dir
        write("server-ca.pem", serverCA.certPEM)
        write("agent.pem", agent.certPEM)
        write("agent-key.pem", agent.keyPEM)
    }

    private func write(_ name: String, _ bytes: [UInt8]) {
        _ = FileManager.default.createFile(atPath: directory + "/" + name, contents: Data(bytes),
                                       attributes: [.posixPermissions: 0o600])
    }

    func path(_ name: String) -> String { directory + "/" + name }
}
