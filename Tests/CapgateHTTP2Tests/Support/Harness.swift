import CapgateCore
import CapgateTesting
@testable import CapgateHTTP2

/// Injected monotonic clock: tests move time explicitly, never sleep.
final class ManualClock {
    var now: Double = 1_000
    func advance(_ seconds: Double) { now += seconds }
}

/// What an application hands the session (the kernel server derives both from its verb
/// list): a body cap for `/v1/invoke` from the per-verb table, and an error body renderer
/// that names the trip, so tests see the session use the application's bytes.
enum TestApplication {
    static func routes(_ limits: GatewayLimits) -> [String: Int] {
        ["/v1/invoke": limits.maxBodyBytes(forVerb: "invoke")]
    }

    static func errorBody(_ trip: H2StreamTrip) -> [UInt8] { Array("refused: \(trip)".utf8) }
}

/// A client session and a server session wired back to back in memory.
final class Loopback {
    let clock = ManualClock()
    let server: H2ServerSession
    let client: H2ClientSession
    var serverEvents: [H2Event] = []
    var clientEvents: [H2ClientEvent] = []
    /// Called for each `.request`; nil leaves requests unanswered.
    var handler: ((H2Request, H2ServerSession) -> Void)?

    init(limits: GatewayLimits = GatewayLimits(),
         handler: ((H2Request, H2ServerSession) -> Void)? = Loopback.echo) throws {
        let clock = self.clock
        server = try H2ServerSession(limits: limits, routeBodyCaps: TestApplication.routes(limits),
                                     clock: { clock.now }, errorBody: TestApplication.errorBody)
        client = try H2ClientSession()
        self.handler = handler
    }

    /// Echoes the body with 200 and the path in `x-path`.
    static func echo(_ req: H2Request, _ server: H2ServerSession) {
        server.respond(streamID: req.streamID, status: 200, headers: [("x-path", req.path)], body: req.body)
    }

    /// Moves bytes both ways until neither side has anything to say.
    func pump(rounds: Int = 10_000) {
        for _ in 0..<rounds {
            var c2s: [UInt8] = []
            clientEvents += client.produce(into: &c2s, max: 1 << 20)
            if !c2s.isEmpty { handle(server.receive(c2s)) }
            var s2c: [UInt8] = []
            handle(server.produce(into: &s2c, max: 1 << 20))
            if !s2c.isEmpty { clientEvents += client.receive(s2c) }
            if c2s.isEmpty && s2c.isEmpty { return }
        }
    }

    func handle(_ events: [H2Event]) {
        for event in events {
            serverEvents.append(event)
            if case .request(let req) = event { handler?(req, server) }
        }
    }

    var responses: [Int32: H2Response] {
        var out: [Int32: H2Response] = [:]
        for case .response(let r) in clientEvents { out[r.streamID] = r }
        return out
    }

    var requests: [H2Request] {
        serverEvents.compactMap { if case .request(let r) = $0 { r } else { nil } }
    }
}

/// A raw, hostile client: writes frames by hand, reads the server's frames raw.
final class RawPeer {
    let clock = ManualClock()
    let server: H2ServerSession
    var reader = FrameReader()
    var events: [H2Event] = []
    var frames: [RawFrame] = []

    init(limits: GatewayLimits = GatewayLimits(), bodyBudget: BodyBudget? = nil, handshake: Bool = true) throws {
        let clock = self.clock
        server = try H2ServerSession(limits: limits, routeBodyCaps: TestApplication.routes(limits),
                                     bodyBudget: bodyBudget,
                                     clock: { clock.now }, errorBody: TestApplication.errorBody)
        if handshake { send(HostilePeer.handshake()) }
    }

    func send(_ bytes: [UInt8]) { events += server.receive(bytes) }

    /// Takes everything the server has to send (up to `max` bytes).
    @discardableResult
    func flush(max: Int = 1 << 24) -> [RawFrame] {
        var out: [UInt8] = []
        events += server.produce(into: &out, max: max)
        let new = reader.feed(out)
        frames += new
        for f in new where f.kind == .headers { headerBlocks.append((f.stream, decoder.decode(f))) }
        return new
    }

    var goaway: RawFrame? { frames.first { $0.kind == .goaway } }
    func frames(_ kind: HostilePeer.FrameType, stream: UInt32? = nil) -> [RawFrame] {
        frames.filter { $0.kind == kind && (stream == nil || $0.stream == stream) }
    }

    var connectionTrips: [H2ConnectionTrip] {
        events.compactMap { if case .connectionError(let t) = $0 { t } else { nil } }
    }
    var streamTrips: [(Int32, H2ErrorCode, H2StreamTrip)] {
        events.compactMap { if case .streamError(let id, let c, let t) = $0 { (id, c, t) } else { nil } }
    }
    var requests: [H2Request] {
        events.compactMap { if case .request(let r) = $0 { r } else { nil } }
    }

    /// Decoded fields of every HEADERS frame the server sent, in wire order.
    let decoder = HPACKDecoder()
    var headerBlocks: [(stream: UInt32, fields: [(String, String)])] = []
    func responseHeaders(stream: UInt32) -> [(String, String)] {
        headerBlocks.filter { $0.stream == stream }.flatMap(\.fields)
    }
    func status(stream: UInt32) -> Int? {
        responseHeaders(stream: stream).first { $0.0 == ":status" }.flatMap { Int($0.1) }
    }
}

extension H2ErrorCode {
    var raw: UInt32 { rawValue }
}
