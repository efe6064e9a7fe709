import AgentKernel
import CapgateConnection
import CapgateCore
import CapgateHTTP2
import CapgatePKI
import CapgateTLS
import Foundation
import Logging
import Synchronization

/// A small driver host built on our own server transport: it serves Swift `Driver`s over the
/// driver-host protocol (docs/drivers.md) exactly as a Python host serves Python drivers, so
/// the tests prove the sidecar side against a real mTLS HTTP/2 peer.
///
/// A driver that throws `KernelError` is answered `{"error": {"type": <kind>, "message"}}`;
/// any other error `{"error": {"type": "Exception", ...}}`. `/v1/execute_stream` streams a
/// `StreamingDriver`'s chunks as NDJSON (`{"chunk"}` lines, then `{"end": true}` or an error
/// line) and answers 501 `{}` for any other driver. `answerOverride` lets a test send a
/// hand-made answer.
public final class TestDriverHost: Sendable {
    public let server: Server
    public let port: UInt16
    public let identity: String
    private let handler: HostHandler

    /// Starts on 127.0.0.1:0 with `hosts/NAME.pem` of `pki` (issued if missing).
    public init(pki: PKIDirectory, name: String, drivers: [any Driver],
                answerOverride: (@Sendable (HTTPRequest) async -> HTTPResponse?)? = nil) throws {
        if !FileManager.default.fileExists(atPath: pki.hostCertificatePath(name)) {
            try pki.issueHost(name: name)
        }
        let ca = try pki.loadCA()
        identity = try ca.hostID(name: name)
        var table: [String: any Driver] = [:]
        for d in drivers { table[d.driverID] = d }
        handler = HostHandler(drivers: table, answerOverride: answerOverride)
        var limits = GatewayLimits()
        limits.handshakeTimeout = 120
        limits.firstRequestTimeout = 120
        limits.idleTimeout = 300
        limits.requestTimeout = 120
        let config = ServerTransportConfig(
            host: "127.0.0.1", port: 0, loops: 1, limits: limits,
            tls: .files(certificateChain: pki.hostCertificatePath(name), privateKey: pki.hostKeyPath(name),
                        trustBundle: pki.caCertificatePath))
        // Quiet: the driver tests assert on answers, not on transport log lines.
        server = try Server(configuration: config, handler: handler,
                            logger: Logger(label: "test-driver-host") { _ in SwiftLogNoOpLogHandler() })
        port = try server.start()
    }

    public var url: String { "https://127.0.0.1:\(port)" }

    /// Distinct TCP peers (ip:port) that sent requests: one per client connection.
    public var connectionsSeen: Set<String> { handler.peers.withLock { $0 } }
    /// `/v1/execute` requests served.
    public var executeCount: Int { handler.count.load(ordering: .relaxed) }
    /// The last request body received, parsed.
    public var lastRequest: JSONValue? { handler.last.withLock { $0 } }

    public func stop() {
        server.stop()
        server.waitUntilStopped()
    }
}

final class HostHandler: RequestHandler {
    let drivers: [String: any Driver]
    let answerOverride: (@Sendable (HTTPRequest) async -> HTTPResponse?)?
    let peers = Mutex<Set<String>>([])
    let count = Atomic<Int>(0)
    let last = Mutex<JSONValue?>(nil)

    init(drivers: [String: any Driver], answerOverride: (@Sendable (HTTPRequest) async -> HTTPResponse?)?) {
        self.drivers = drivers
        self.answerOverride = answerOverride
    }

    /// The protocol's bodies are small JSON objects: the default cap covers them.
    var routeBodyCaps: [String: Int] { [:] }

    func localErrorBody(for trip: H2StreamTrip) -> [UInt8] {
        Array(#"{"error":{"type":"ValueError","message":"\#(trip.code)"}}"#.utf8)
    }

    func handle(_ request: HTTPRequest, peer: PeerInfo) async -> HTTPResponse {
        peers.withLock { _ = $0.insert(peer.remoteAddress) }
        if let answerOverride, let answer = await answerOverride(request) { return answer }
        switch (request.method, request.path) {
        case ("GET", "/v1/health"):
            let names = drivers.keys.sorted().map(JSONValue.string)
            return json(200, ["status": "ok", "drivers": .array(names)])
        case ("POST", "/v1/execute_stream"):
            return .json(501, "{}")
        case ("POST", "/v1/execute"):
            count.add(1, ordering: .relaxed)
            return await execute(request.body)
        default:
            return .json(404, #"{"error":{"type":"NotFound","message":"no such path"}}"#)
        }
    }

    func execute(_ body: [UInt8]) async -> HTTPResponse {
        guard let value = try? JSONParser.parse(body), case .object(let top) = value,
              case .string(let driverID)? = top["driver_id"], case .object(let c)? = top["context"],
              case .string(let cap)? = c["capability_id"], case .string(let principal)? = c["principal_id"],
              case .object(let args)? = c["args"], case .object(let constraints)? = c["constraints"],
              case .string(let actionID)? = c["action_id"]
        else { return .json(400, #"{"error":{"type":"ValueError","message":"bad request"}}"#) }
        last.withLock { $0 = value }
        guard let driver = drivers[driverID] else {
            return error("DriverError", "Driver host has no driver '\(driverID)'.")
        }
        let ctx = ExecutionContext(capabilityID: cap, principalID: principal, args: args, constraints: constraints,
                                   actionID: actionID)
        do {
            let raw = try await driver.execute(ctx)
            return json(200, ["data": raw.data, "metadata": .object(raw.metadata)])
        } catch let e as KernelError {
            return error(e.kind.rawValue, e.message)
        } catch {
            return self.error("Exception", String(describing: error))
        }
    }

    /// `/v1/execute_stream` for a streaming driver; everything else as `handle(_:peer:)`.
    func handle(_ request: HTTPRequest, peer: PeerInfo, responder: ResponseStream) async {
        guard answerOverride == nil, request.method == "POST", request.path == "/v1/execute_stream",
              let value = try? JSONParser.parse(request.body), case .string(let driverID)? = value["driver_id"],
              let driver = drivers[driverID] as? any StreamingDriver, case .object(let c)? = value["context"]
        else {
            responder.respond(await handle(request, peer: peer))
            return
        }
        peers.withLock { _ = $0.insert(peer.remoteAddress) }
        last.withLock { $0 = value }
        let ctx = ExecutionContext(capabilityID: c["capability_id"]?.stringValue ?? "",
                                   principalID: c["principal_id"]?.stringValue ?? "",
                                   args: c["args"]?.objectValue ?? [:], constraints: c["constraints"]?.objectValue ?? [:],
                                   actionID: c["action_id"]?.stringValue ?? "")
        func line(_ v: JSONValue) -> [UInt8] { v.serializedBytes() + [0x0A] }
        responder.begin(status: 200, headers: [(name: "content-type", value: "application/x-ndjson")])
        do {
            for try await chunk in driver.executeStream(ctx) {
                try await responder.write(line(["chunk": .object(chunk)]))
            }
            try await responder.write(line(["end": true]))
        } catch is ResponseStreamClosed {
            return
        } catch is CancellationError {
            return
        } catch {
            let type = (error as? KernelError)?.kind.rawValue ?? "Exception"
            let message = (error as? KernelError)?.message ?? String(describing: error)
            try? await responder.write(line(["error": ["type": .string(type), "message": .string(message)]]))
        }
        responder.end()
    }

    func json(_ status: Int, _ v: JSONObject) -> HTTPResponse {
        HTTPResponse(status: status, body: JSONValue.object(v).serializedBytes())
    }

    func error(_ type: String, _ message: String) -> HTTPResponse {
        json(200, ["error": ["type": .string(type), "message": .string(message)]])
    }
}

/// A CA with a driver host, the sidecar's client certificate and an impostor host (same CA,
/// other SPIFFE ID), in a fresh temporary directory.
public struct HostPKI: Sendable {
    public let dir: String
    public let pki: PKIDirectory

    public init() throws {
        dir = NSTemporaryDirectory() + "capgate-hostpki-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        pki = PKIDirectory(path: dir + "/pki")
        try pki.initCA(trustDomain: "capgate.local")
        try pki.issueAgent(name: "sidecar")
        try pki.issueHost(name: "pydrivers")
        try pki.issueHost(name: "impostor")
    }

    public var hostIdentity: String { "spiffe://capgate.local/driver-host/pydrivers" }

    public func remove() { try? FileManager.default.removeItem(atPath: dir) }
}
