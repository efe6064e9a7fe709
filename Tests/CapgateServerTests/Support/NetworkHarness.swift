import AgentKernel
import CapgateClient
import CapgatePKI
import CapgateServer
import CapgateTesting
import Foundation
import KernelConformance
import Synchronization

/// The conformance suite's harness over the network: every target is a real `Gateway` on
/// loopback whose kernel hosts the case's `FixtureDriver` in process, and every principal
/// is a `CapgateClient` with its own certificate, mapped by the server's identity rules to
/// exactly that principal (id, roles, attributes). Nothing of the suite changes.
final class NetworkHarness: ConformanceHarness {
    /// Targets started by this harness, stopped by `shutdown()`.
    private let started = Mutex<[NetworkTarget]>([])
    let secret = "conformance-secret"

    func makeTarget(_ fixture: ConformanceFixture) async throws -> any ConformanceTarget {
        let shared = try SharedConformancePKI.get()
        let registry = CapabilityRegistry()
        let router = StaticRouter()
        for c in fixture.capabilities {
            try registry.register(c)
            router.addRoute(c.capabilityID, ["fixture"])
        }
        let kernel = Kernel(registry: registry, policy: try DefaultPolicyEngine(),
                            tokens: HMACTokenProvider(secret: secret), router: router,
                            handles: try HandleStore(), traces: try TraceStore())
        kernel.registerDriver(fixture.driver)
        var config = shared.config
        config.identities = IdentityMap(rules: [])
        let gateway = try Gateway(config: config, kernel: kernel, logger: CollectingLogger().asLogger)
        let port = try gateway.start()
        let target = NetworkTarget(gateway: gateway, port: port, pki: shared)
        started.withLock { $0.append(target) }
        return target
    }

    func shutdown() async {
        for t in started.withLock({ $0 }) { await t.stop() }
    }
}

/// One gateway; `api(as:)` maps the principal's identity and connects as it: the suite
/// talks to `CapgateClient` itself (it is a `KernelAPI`).
final class NetworkTarget: ConformanceTarget {
    let gateway: Gateway
    let port: UInt16
    let pki: SharedConformancePKI
    private let clients = Mutex<[String: CapgateClient]>([:])

    init(gateway: Gateway, port: UInt16, pki: SharedConformancePKI) {
        self.gateway = gateway
        self.port = port
        self.pki = pki
    }

    func api(as principal: Principal) async throws -> any KernelAPI {
        if let existing = clients.withLock({ $0[principal.principalID] }) { return existing }
        let id = "spiffe://\(DemoConfig.trustDomain)/agent/\(principal.principalID)"
        var map = gateway.service.identityMap
        map.rules.removeAll { $0.match == .exact(id) }
        map.rules.append(IdentityMap.Rule(match: .exact(id), principalID: principal.principalID,
                                          roles: principal.roles, attributes: principal.attributes))
        gateway.service.reloadIdentities(map)
        let (cert, key) = try pki.agent(principal.principalID)
        let client = try CapgateClient(host: "127.0.0.1", port: port, certificate: cert, key: key,
                                       trustBundle: pki.directory.caCertificatePath)
        clients.withLock { $0[principal.principalID] = client }
        return client
    }

    func stop() async {
        for c in clients.withLock({ Array($0.values) }) { c.close() }
        gateway.shutdown()
        let g = gateway
        _ = try? await runBlocking { g.waitUntilStopped() }
    }
}

/// The TLS material every conformance target shares: one demo PKI (CA, server leaf),
/// prepared once per test process, plus an agent certificate per principal id.
final class SharedConformancePKI: Sendable {
    let config: ServerConfig
    let directory: PKIDirectory
    private let agents = Mutex<[String: (String, String)]>([:])

    private static let instance = Mutex<SharedConformancePKI?>(nil)

    static func get() throws -> SharedConformancePKI {
        try instance.withLock { slot in
            if let s = slot { return s }
            let dir = try makeTempDirectory("conformance")
            let s = SharedConformancePKI(config: try DemoConfig.prepare(stateDir: dir, host: "127.0.0.1", port: 0),
                                         directory: PKIDirectory(path: dir + "/pki"))
            slot = s
            return s
        }
    }

    private init(config: ServerConfig, directory: PKIDirectory) {
        var c = config
        c.eventLoops = 1
        c.limits.relaxTimeoutsForTests()
        self.config = c
        self.directory = directory
    }

    /// (certificate path, key path) of an agent leaf for `name`, issued on first use.
    func agent(_ name: String) throws -> (String, String) {
        try agents.withLock { table in
            if let paths = table[name] { return paths }
            if FileManager.default.fileExists(atPath: directory.agentCertificatePath(name)) {
                let paths = (directory.agentCertificatePath(name), directory.agentKeyPath(name))
                table[name] = paths
                return paths
            }
            _ = try directory.issueAgent(name: name)
            let paths = (directory.agentCertificatePath(name), directory.agentKeyPath(name))
            table[name] = paths
            return paths
        }
    }
}
