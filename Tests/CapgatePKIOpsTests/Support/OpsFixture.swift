import AgentKernel
import CapgateClient
import CapgateConnection
import CapgatePKI
import CapgateServer
import CapgateTesting
import Foundation
import Logging
import Synchronization
import Testing

/// A fresh temporary directory, removed on deinit.
final class OpsTempDir: Sendable {
    let path: String
    init() throws {
        path = try makeTempDirectory("ops")
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ relative: String) -> String { path + "/" + relative }
}

/// Captures log lines and lets a test wait for one, with a bounded deadline (a missing line
/// fails the test instead of hanging it).
final class OpsLogger: Sendable {
    private let state = Mutex<[String]>([])

    func record(_ level: Logger.Level, _ message: String) {
        state.withLock { $0.append("\(level.rawValue): \(message)") }
    }

    /// The swift-log `Logger` whose lines land here.
    var asLogger: Logger { CapturingLogHandler.logger { [self] level, message in record(level, message) } }

    var lines: [String] { state.withLock { $0 } }

    func count(containing fragment: String) -> Int { lines.filter { $0.contains(fragment) }.count }

    /// The first line (already logged or within `timeout`) containing `fragment`; "" and a
    /// recorded issue when none comes.
    @discardableResult
    func waitForLine(containing fragment: String, timeout: Duration = .seconds(10),
                     sourceLocation: SourceLocation = #_sourceLocation) async -> String {
        var found: String?
        _ = await eventually(timeout: timeout) {
            found = lines.first { $0.contains(fragment) }
            return found != nil
        }
        if found == nil { Issue.record("no log line containing \(fragment)", sourceLocation: sourceLocation) }
        return found ?? ""
    }
}

/// Polls `condition` until it holds or `timeout` passes (reload effects of the file watcher
/// are asynchronous; the deadline only bounds a failing test, it never decides a passing one).
func eventually(timeout: Duration = .seconds(10), _ condition: () async -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

/// The embedded demo gateway (DemoConfig: trust domain capgate.local, agents alice/bob/ops,
/// PKI in `<tmp>/state/pki`) on 127.0.0.1:0.
final class GatewayFixture: Sendable {
    let dir: OpsTempDir
    let pki: PKIDirectory
    let gateway: Gateway
    let logger: OpsLogger
    let port: UInt16

    init(watchInterval: Double = 0, configure: (inout ServerConfig) -> Void = { _ in }) throws {
        dir = try OpsTempDir()
        var config = try DemoConfig.prepare(stateDir: dir.file("state"), host: "127.0.0.1", port: 0)
        config.eventLoops = 2
        config.watchInterval = watchInterval
        config.limits.relaxTimeoutsForTests()
        configure(&config)
        pki = PKIDirectory(path: dir.file("state/pki"))
        logger = OpsLogger()
        gateway = try Gateway(config: config, logger: logger.asLogger)
        port = try gateway.start()
    }

    /// A client with the files currently on disk for `agent` (or explicit paths).
    func client(agent: String) throws -> CapgateClient {
        try client(certificate: pki.agentCertificatePath(agent), key: pki.agentKeyPath(agent))
    }

    func client(certificate: String, key: String) throws -> CapgateClient {
        try CapgateClient(host: "127.0.0.1", port: port, certificate: certificate, key: key,
                          trustBundle: pki.caCertificatePath, serverName: "localhost")
    }

    /// True when a fresh connection as `agent` can list the demo's capabilities.
    func works(_ client: CapgateClient) async -> Bool {
        do {
            return try await client.listCapabilities().count == DemoConfig.capabilities.count
        } catch {
            // Say why: a bare `false` makes a flaky failure undiagnosable.
            Issue.record("request failed: \(error)")
            return false
        }
    }

    /// True when a fresh connection with these files is refused (the call fails at transport level).
    func refused(certificate: String, key: String) async -> Bool {
        guard let c = try? client(certificate: certificate, key: key) else { return true }
        defer { c.close() }
        do {
            _ = try await c.listCapabilities()
            return false
        } catch let error as CapgateClientError {
            if case .transport = error { return true }
            return false
        } catch {
            return false
        }
    }

    func refused(agent: String) async -> Bool {
        await refused(certificate: pki.agentCertificatePath(agent), key: pki.agentKeyPath(agent))
    }

    func stop() {
        gateway.server.stop()
        gateway.server.waitUntilStopped()
    }
}

/// Overwrites a file in place (keeps inode/mode) with `text`.
func overwrite(_ path: String, _ text: String) throws {
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}
