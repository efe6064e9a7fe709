import CapgateConnection
import CapgateCore
import CapgateHTTPClient
import CapgateTLS
import Synchronization

/// A one-shot async event: `wait()` resumes once `fire()` was called (no sleeps).
final class AsyncEvent: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func fire() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.fired = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.fired { return true }
                s.waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }
}

/// Echo application: answers `{"path","identity","body_length"}`. `/slow` waits for
/// `slowGate` (after firing `slowEntered`); `/error` answers 500; `/big/N` answers N bytes.
struct EchoHandler: RequestHandler {
    let slowEntered = AsyncEvent()
    let slowGate = AsyncEvent()

    func handle(_ request: HTTPRequest, peer: PeerInfo) async -> HTTPResponse {
        if request.path == "/slow" {
            slowEntered.fire()
            await slowGate.wait()
        }
        if request.path.hasPrefix("/big/"), let n = Int(request.path.dropFirst(5)), n >= 0, n <= 1 << 22 {
            return HTTPResponse(status: 200, headers: [(name: "content-type", value: "application/octet-stream")],
                                body: [UInt8](repeating: 0x62, count: n))
        }
        if request.path == "/error" {
            return .json(500, #"{"error":{"type":"Boom","message":"boom","reason_code":"internal","details":{}}}"#)
        }
        return .json(200, #"{"path":"\#(request.path)","identity":"\#(peer.spiffeID)","body_length":\#(request.body.count)}"#,
                     headers: [("x-echo", "1")])
    }
}

/// A logger tests can await: `waitForLine` resumes when a matching line is logged.
final class AwaitableLogger: TransportLogger {
    private struct State {
        var lines: [String] = []
        var waiters: [(predicate: @Sendable (String) -> Bool, continuation: CheckedContinuation<String, Never>)] = []
    }
    private let state = Mutex(State())

    func log(_ level: TransportLogLevel, _ message: String) {
        let due = state.withLock { s -> [(CheckedContinuation<String, Never>)] in
            s.lines.append(message)
            let ready = s.waiters.filter { $0.predicate(message) }.map(\.continuation)
            s.waiters.removeAll { $0.predicate(message) }
            return ready
        }
        for c in due { c.resume(returning: message) }
    }

    var lines: [String] { state.withLock { $0.lines } }

    /// The first line (already logged or future) containing `fragment`.
    func waitForLine(containing fragment: String) async -> String {
        await withCheckedContinuation { (c: CheckedContinuation<String, Never>) in
            let existing = state.withLock { s -> String? in
                if let line = s.lines.first(where: { $0.contains(fragment) }) { return line }
                s.waiters.append(({ $0.contains(fragment) }, c))
                return nil
            }
            if let existing { c.resume(returning: existing) }
        }
    }
}

/// A started server on 127.0.0.1:0 with the shared certificates.
struct TestServer {
    let server: Server
    let port: UInt16
    let handler: EchoHandler
    let logger: AwaitableLogger

    init(limits: GatewayLimits = GatewayLimits(), loops: Int = 2, drainTimeout: Double = 30) throws {
        let certs = TestCertificates.shared
        let material = TLSServerMaterial(certificateChainPEM: certs.server.certPEM, privateKeyPEM: certs.server.keyPEM,
                                         trustBundlePEM: certs.clientCA.certPEM)
        handler = EchoHandler()
        logger = AwaitableLogger()
        server = try Server(configuration: ServerTransportConfig(host: "127.0.0.1", port: 0, loops: loops, limits: limits,
                                                                  tls: .material(material), drainTimeout: drainTimeout),
                            handler: handler, logger: logger)
        port = try server.start()
    }

    /// A client presenting `identity` (nil: no certificate) and trusting `serverCA`.
    func client(identity: TestIdentity? = TestCertificates.shared.agent,
                serverCA: TestIdentity = TestCertificates.shared.serverCA,
                alpn: [String] = ["h2"]) throws -> HTTPClientConnection {
        let material = TLSClientMaterial(certificateChainPEM: identity?.certPEM, privateKeyPEM: identity?.keyPEM,
                                         trustBundlePEM: serverCA.certPEM)
        let tls = try TLSContext.client(material: material, serverName: "127.0.0.1", alpnProtocols: alpn)
        return try HTTPClientConnection(host: "127.0.0.1", port: port, tls: tls)
    }

    /// Hard stop and join (test teardown).
    func stop() {
        server.stop()
        server.waitUntilStopped()
    }
}

/// Decodes the echo JSON loosely (tests only check fields they wrote).
func echoField(_ body: [UInt8], _ key: String) -> String? {
    let text = String(decoding: body, as: UTF8.self)
    guard let range = text.range(of: "\"\(key)\":") else { return nil }
    var rest = text[range.upperBound...]
    if rest.hasPrefix("\"") {
        rest = rest.dropFirst()
        return String(rest.prefix { $0 != "\"" })
    }
    return String(rest.prefix { $0.isNumber })
}

typealias TLSErrorForTests = TLSError

/// Server material for a given server leaf (client CA unchanged).
struct TLSServerMaterialForTests {
    let value: TLSServerMaterial
    init(leaf: TestIdentity) {
        value = TLSServerMaterial(certificateChainPEM: leaf.certPEM, privateKeyPEM: leaf.keyPEM,
                                  trustBundlePEM: TestCertificates.shared.clientCA.certPEM)
    }
}
