import AgentKernel
import CapgateClient
import CapgateCore
import CapgatePKI
import CapgateServer
import CapgateTesting
import Foundation
import Synchronization

/// One running sidecar on 127.0.0.1:0 with the embedded demo (`DemoConfig.prepare` in a
/// fresh temporary state dir: CA, server and alice/bob/ops certificates, secret), one event
/// loop, and a client per agent. `configure` adjusts the configuration (tiny rate limits or
/// budgets); `kernel` replaces the kernel (custom drivers, clocks).
final class GatewayFixture: Sendable {
    let gateway: Gateway
    let port: UInt16
    let stateDir: String
    let logger: CollectingLogger
    let ownsStateDir: Bool
    /// Clients made through the fixture, closed by `stop()` so the drain is immediate.
    private let clients = Mutex<[CapgateClient]>([])

    var pki: PKIDirectory { PKIDirectory(path: stateDir + "/pki") }
    var config: ServerConfig { gateway.config }
    var kernel: Kernel { gateway.kernel }

    /// Starts a gateway. With `stateDir` given, reuses it (restart tests) and leaves it.
    init(stateDir given: String? = nil, configure: (inout ServerConfig) throws -> Void = { _ in },
         kernel makeKernel: ((ServerConfig) throws -> Kernel)? = nil) throws {
        let dir = try given ?? makeTempDirectory("gw")
        ownsStateDir = given == nil
        stateDir = dir
        var config = try DemoConfig.prepare(stateDir: dir, host: "127.0.0.1", port: 0)
        config.eventLoops = 1
        config.limits.relaxTimeoutsForTests()
        try configure(&config)
        logger = CollectingLogger()
        if let makeKernel {
            gateway = try Gateway(config: config, kernel: try makeKernel(config), logger: logger.asLogger)
        } else {
            gateway = try Gateway(config: config, logger: logger.asLogger)
        }
        port = try gateway.start()
    }

    /// A client with the agent's demo certificate (`alice`, `bob`, `ops`).
    func client(_ agent: String) throws -> CapgateClient {
        try client(certificate: pki.agentCertificatePath(agent), key: pki.agentKeyPath(agent))
    }

    func client(certificate: String, key: String, trustBundle: String? = nil) throws -> CapgateClient {
        let c = try CapgateClient(host: "127.0.0.1", port: port, certificate: certificate, key: key,
                                  trustBundle: trustBundle ?? pki.caCertificatePath)
        clients.withLock { $0.append(c) }
        return c
    }

    /// Issues a leaf from the demo CA with `spec` and writes it next to the agents; returns
    /// (certificate path, key path).
    func issueLeaf(_ name: String, _ edit: (inout LeafSpec) -> Void) throws -> (String, String) {
        let ca = try pki.loadCA()
        let now = Int64(Date().timeIntervalSince1970)
        var spec = LeafSpec(commonName: name, notBefore: now - 300, notAfter: now + 3600)
        edit(&spec)
        let issued = try ca.issueLeaf(spec)
        return try writeIdentity(name, issued)
    }

    func writeIdentity(_ name: String, _ issued: IssuedCertificate) throws -> (String, String) {
        let cert = stateDir + "/extra-\(name).pem", key = stateDir + "/extra-\(name).key"
        try Data(try issued.certificate.pemBytes()).write(to: URL(fileURLWithPath: cert))
        try Data(try issued.privateKey.pemBytes()).write(to: URL(fileURLWithPath: key))
        chmod(key, 0o600)
        return (cert, key)
    }

    /// The HMAC secret the sidecar signs with.
    var secret: String { get throws { try SecretFile.load(path: config.secretFile) } }

    /// Graceful shutdown, then waits for the loops; removes a state dir it created.
    func stop(removeState: Bool = true) async {
        for c in clients.withLock({ $0 }) { c.close() }
        gateway.shutdown()
        let g = gateway
        _ = try? await runBlocking { g.waitUntilStopped() }
        if removeState && ownsStateDir { try? FileManager.default.removeItem(atPath: stateDir) }
    }
}

/// `SPIFFE` id of a demo agent.
func demoID(_ name: String) -> String { "spiffe://\(DemoConfig.trustDomain)/agent/\(name)" }

/// Runs `body` with a fixture and stops it afterwards, also when `body` throws.
func withGateway<T>(configure: (inout ServerConfig) throws -> Void = { _ in },
                    kernel: ((ServerConfig) throws -> Kernel)? = nil,
                    _ body: (GatewayFixture) async throws -> T) async throws -> T {
    let fixture = try GatewayFixture(configure: configure, kernel: kernel)
    do {
        let result = try await body(fixture)
        await fixture.stop()
        return result
    } catch {
        await fixture.stop()
        throw error
    }
}
