import CapgateConnection
import CapgateCore
import CapgateHTTP2
import CapgateHTTPClient
import CapgateTesting
import CapgateTLS
import Logging
import Synchronization
import Testing

/// A one-shot async event: `wait()` returns once `fire()` was called. Bounded: an event
/// that never fires records an issue after `timeout` instead of hanging the suite.
final class AsyncEvent: Sendable {
    private let fired = Mutex(false)

    func fire() { fired.withLock { $0 = true } }

    func wait(timeout: Duration = .seconds(30), sourceLocation: SourceLocation = #_sourceLocation) async {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if fired.withLock({ $0 }) { return }
            // A cancelled waiter (a handler whose stream was reset) stops: its `Task.sleep`
            // would throw at once, and the loop would spin without ever suspending, holding
            // the event loop the handler runs on.
            if Task.isCancelled { return }
            try? await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("event never fired within \(timeout)", sourceLocation: sourceLocation)
    }
}

/// Echo application: answers `{"path","identity","body_length"}`. `/slow` waits for
/// `slowGate` (after firing `slowEntered`); `/error` answers 500; `/big/N` answers N bytes;
/// `/now...` is answered by `respondNow` (on the loop, no task), which counts its answers.
struct EchoHandler: RequestHandler {
    let slowEntered = AsyncEvent()
    let slowGate = AsyncEvent()
    /// What `respondNow` answered.
    let answeredNow = AnsweredNowLog()
    /// Like the kernel's routes: `/v1/invoke` takes the per-verb cap, every other path the default.
    let routeBodyCaps: [String: Int]

    init(limits: GatewayLimits = GatewayLimits()) {
        routeBodyCaps = ["/v1/invoke": limits.maxBodyBytes(forVerb: "invoke")]
    }

    /// An error body naming the trip's code, so tests can tell which refusal it was.
    func localErrorBody(for trip: H2StreamTrip) -> [UInt8] {
        Array(#"{"error":{"code":"\#(trip.code)"}}"#.utf8)
    }

    func respondNow(to request: HTTPRequest, peer: PeerInfo) -> HTTPResponse? {
        guard request.path.hasPrefix("/now") else { return nil }
        answeredNow.record(inTask: withUnsafeCurrentTask { $0 != nil })
        return .json(200, #"{"path":"\#(request.path)","identity":"\#(peer.spiffeID)","now":true}"#,
                     headers: [("x-echo", "now")])
    }

    func handle(_ request: HTTPRequest, peer: PeerInfo) async -> HTTPResponse {
        if request.path.hasPrefix("/now") {
            Issue.record("a request respondNow answers reached handle")
        }
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

/// How many requests `EchoHandler.respondNow` answered, and whether any from inside a task.
final class AnsweredNowLog: Sendable {
    private let state = Mutex((count: 0, inTask: false))

    func record(inTask: Bool) { state.withLock { $0 = ($0.count + 1, $0.inTask || inTask) } }
    var count: Int { state.withLock { $0.count } }
    var anyInTask: Bool { state.withLock { $0.inTask } }
}

/// A logger tests can await: `waitForLine` returns once a matching line is logged.
final class AwaitableLogger: Sendable {
    private struct State {
        var lines: [String] = []
    }
    private let state = Mutex(State())

    func record(_ level: Logger.Level, _ message: String) {
        state.withLock { $0.lines.append(message) }
    }

    var lines: [String] { state.withLock { $0.lines } }

    /// The swift-log `Logger` whose lines land here.
    var asLogger: Logger { CapturingLogHandler.logger { [self] level, message in record(level, message) } }

    /// The first line (already logged or future) containing `fragment`. Bounded: a line
    /// that never comes records an issue after `timeout` instead of hanging the suite.
    func waitForLine(containing fragment: String, timeout: Duration = .seconds(30),
                     sourceLocation: SourceLocation = #_sourceLocation) async -> String {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if let line = lines.first(where: { $0.contains(fragment) }) { return line }
            try? await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("no log line containing \(fragment) within \(timeout)", sourceLocation: sourceLocation)
        return ""
    }
}

/// A started server on 127.0.0.1:0 with the shared certificates.
struct TestServer {
    let server: Server
    let port: UInt16
    let handler: EchoHandler
    let logger: AwaitableLogger

    init(limits: GatewayLimits = GatewayLimits(), loops: Int = 2, drainTimeout: Double = 30) throws {
        // The suite runs in parallel on 2 cores: a client opened early can wait past a 10 s
        // default timeout; a test that sets a timeout (to test it) keeps it.
        let limits = limits.relaxingDefaultTimeoutsForTests()
        let certs = TestCertificates.shared
        let material = TLSServerMaterial(certificateChainPEM: certs.server.certPEM, privateKeyPEM: certs.server.keyPEM,
                                         trustBundlePEM: certs.clientCA.certPEM)
        handler = EchoHandler(limits: limits)
        logger = AwaitableLogger()
        server = try Server(configuration: ServerTransportConfig(host: "127.0.0.1", port: 0, loops: loops, limits: limits,
                                                                  tls: .material(material), drainTimeout: drainTimeout),
                            handler: handler, logger: logger.asLogger)
        port = try server.start()
    }

    /// A client presenting `identity` (nil: no certificate) and trusting `serverCA`.
    func client(identity: TestIdentity? = TestCertificates.shared.agent,
                serverCA: TestCA = TestCertificates.shared.serverCA,
                alpn: [String] = ["h2"], requestTimeout: Duration? = .seconds(60)) throws -> HTTPClientConnection {
        let material = TLSClientMaterial(certificateChainPEM: identity?.certPEM, privateKeyPEM: identity?.keyPEM,
                                         trustBundlePEM: serverCA.certPEM)
        let tls = try TLSContext.client(material: material, serverName: "127.0.0.1", alpnProtocols: alpn)
        return try HTTPClientConnection(host: "127.0.0.1", port: port, tls: tls, requestTimeout: requestTimeout)
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
