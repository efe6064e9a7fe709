import CapgateCore
import CapgateHTTP2
import CapgateServer
import CapgateWire

/// Target 3: the HTTP/2 session glue fed raw client bytes after the connection preface
/// (no socket, no TLS): header validation, limits, routing and body assembly, with the
/// server's per-route body caps and error bodies (`KernelRoutes`). Complete
/// requests are routed and decoded as the server would, then answered, so the response
/// path runs too. Invariants: output never exceeds the requested maximum, nothing is
/// reported after the session closed, and routed bodies respect the verb's cap.
enum FuzzH2Session {
    static let preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    static func run(_ data: UnsafeRawBufferPointer) {
        var now = 0.0
        var limits = GatewayLimits()
        limits.maxConcurrentStreams = 16
        let routes = KernelRoutes.bodyCaps(limits)
        guard let session = try? H2ServerSession(limits: limits, routeBodyCaps: routes, clock: { now },
                                                 errorBody: KernelRoutes.errorBody(for:)) else {
            fuzzFailure("session init failed with valid limits")
        }
        var out: [UInt8] = []
        _ = session.produce(into: &out, max: 1 << 16)
        var events = session.receive(preface)
        // Feed the input in chunks whose sizes come from the input itself, so frame
        // boundaries land anywhere.
        var rest = data[...]
        while !rest.isEmpty {
            let n = max(1, Int(rest.first!) * 3)
            let chunk = rest.prefix(n)
            rest = rest.dropFirst(chunk.count)
            if session.isClosed || !session.wantsRead { break }
            events += session.receive(UnsafeRawBufferPointer(rebasing: chunk))
            handle(events, session, limits, routes)
            events.removeAll()
            now += 0.01
            out.removeAll(keepingCapacity: true)
            let before = out.count
            events += session.produce(into: &out, max: 4096)
            if out.count - before > 4096 { fuzzFailure("produce exceeded max") }
        }
        handle(events, session, limits, routes)
    }

    static func handle(_ events: [H2Event], _ session: H2ServerSession, _ limits: GatewayLimits,
                       _ routes: [String: Int]) {
        for e in events {
            guard case .request(let r) = e else { continue }
            if r.body.count > limits.maxBodyBytes(forPath: r.path, routes: routes) { fuzzFailure("body over the cap reached routing") }
            var status = 404
            if let verb = Verb.route(path: r.path) {
                status = 200
                if verb != .health {
                    do throws(WireError) { _ = try WireRequest.decode(verb, body: r.body) } catch { status = error.status }
                }
            }
            _ = session.respond(streamID: r.streamID, status: status, body: Array("{}".utf8))
        }
    }
}
