import CapgateClient
import CapgatePKI
import CapgateServer
import CapgateTesting
import Foundation
import Testing

/// The openssl CLI recipes of certs/README.md, executed verbatim (the `recipe:` blocks), make
/// certificates the gateway accepts, and the revocation recipe makes one it refuses.
@Suite("OpenSSL CLI recipes (certs/README.md)")
struct OpenSSLRecipeTests {
    /// The ```sh block following `<!-- recipe:NAME -->` in certs/README.md.
    static func recipe(_ name: String) async throws -> String {
        let readme = try String(contentsOfFile: packageRoot + "/certs/README.md", encoding: .utf8)
        guard let marker = readme.range(of: "<!-- recipe:\(name) -->"),
              let open = readme.range(of: "```sh\n", range: marker.upperBound..<readme.endIndex),
              let close = readme.range(of: "\n```", range: open.upperBound..<readme.endIndex) else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "no recipe \(name)"])
        }
        return String(readme[open.upperBound..<close.lowerBound])
    }

    /// Runs a recipe with bash -e (every command must succeed) in `directory`.
    static func run(_ name: String, in directory: String, _ env: [String: String]) async throws -> ProcessResult {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let script = "set -euo pipefail\n" + (try await recipe(name))
        return try await runProcess("/bin/bash", ["-c", script], environment: env, directory: directory)
    }

    @Test func recipesProduceCertificatesTheGatewayAcceptsAndRevocationWorks() async throws {
        let which = try await runProcess("/bin/sh", ["-c", "command -v openssl"])
        try #require(which.status == 0, "openssl CLI missing (the Makefile installs the openssl package)")

        let dir = try OpsTempDir()
        var env = ["CAPGATE_CERTS": packageRoot + "/certs", "TRUST_DOMAIN": "example.org",
                   "AGENT_NAME": "billing", "SERVER_SANS": "DNS:localhost,IP:127.0.0.1"]
        let ca = try await Self.run("lab-ca", in: dir.file("ca"), env)
        #expect(ca.status == 0, "\(ca.stderr)")
        env["CA_CERT"] = dir.file("ca/ca.pem")
        env["CA_KEY"] = dir.file("ca/ca.key")
        let server = try await Self.run("server", in: dir.file("srv"), env)
        #expect(server.status == 0, "\(server.stderr)")
        let agent = try await Self.run("agent", in: dir.file("agent"), env)
        #expect(agent.status == 0, "\(agent.stderr)")
        #expect(try fileMode(dir.file("agent/billing.key")) == 0o600)
        #expect(try fileMode(dir.file("ca/ca.key")) == 0o600)

        // The leaf has exactly the documented profile.
        let leaf = try Certificate(pem: Array(Data(contentsOf: URL(fileURLWithPath: dir.file("agent/billing.pem")))))
        #expect(leaf.uriSANs == ["spiffe://example.org/agent/billing"])
        #expect(leaf.extensions.extendedKeyUsage == ["clientAuth"])
        #expect(leaf.extensions.keyUsage == .digitalSignature && leaf.extensions.isCritical("keyUsage"))
        #expect(leaf.extensions.basicConstraints?.isCA == false && leaf.extensions.isCritical("basicConstraints"))

        // A gateway serving the openssl-made server certificate and trusting the openssl CA.
        let logger = OpsLogger()
        var config = try DemoConfig.prepare(stateDir: dir.file("state"), host: "127.0.0.1", port: 0)
        config.eventLoops = 1
        config.watchInterval = 0
        config.tls = .init(certificate: dir.file("srv/server.pem"), privateKey: dir.file("srv/server.key"),
                           trustBundle: dir.file("ca/ca.pem"), crl: dir.file("ca/crl.pem"), crlOptional: true)
        config.identities = IdentityMap(rules: [.init(match: .exact("spiffe://example.org/agent/billing"),
                                                      principalID: "billing", roles: ["reader"])])
        let gateway = try Gateway(config: config, logger: logger.asLogger)
        let port = try gateway.start()
        defer {
            gateway.server.stop()
            gateway.server.waitUntilStopped()
        }
        func connect() throws -> CapgateClient {
            try CapgateClient(host: "127.0.0.1", port: port, certificate: dir.file("agent/billing.pem"),
                              key: dir.file("agent/billing.key"), trustBundle: dir.file("ca/ca.pem"),
                              serverName: "localhost")
        }
        let client = try connect()
        #expect(try await client.listCapabilities().count == DemoConfig.capabilities.count)
        client.close()

        // Revoke with `openssl ca`, write the CRL, reload: the same certificate is refused.
        env["REVOKE_PEM"] = dir.file("agent/billing.pem")
        let revoke = try await Self.run("revoke", in: dir.file("ca"), env)
        #expect(revoke.status == 0, "\(revoke.stderr)")
        #expect(try gateway.reload(tls: true, identities: false).tls?.get() == 2)
        let after = try connect()
        defer { after.close() }
        await #expect(throws: CapgateClientError.self) { _ = try await after.listCapabilities() }
        await logger.waitForLine(containing: "reason=tls_peer_verification_failed")
    }
}
