import AgentKernel
import CapgateConnection
import CapgateCore
import CapgateWire
import Foundation

/// The transport's entry point: a verb that answers with frames (`invoke_stream`,
/// docs/design.md §5) is streamed as they come; every other answer is sent whole. Each
/// answered request is reported once to `observe` (metrics, access log).
extension KernelRequestHandler {
    public func handle(_ request: HTTPRequest, peer: PeerInfo, responder: ResponseStream) async {
        expiry.observe(identity: peer.spiffeID, notAfter: peer.certificateNotAfter, serial: peer.certificateSerialHex)
        let startedAt = Date()
        let started = ContinuousClock.now
        let outcome: StreamOutcome
        let answer = await service.answer(request, identity: peer.spiffeID)
        if let (response, whole) = Self.wholeResponse(answer) {
            responder.respond(response)
            outcome = whole
        } else if case .success(.frames(let frames)) = answer {
            outcome = await stream(frames, to: responder)
        } else {
            return  // unreachable: `wholeResponse` answers everything but frames
        }
        report(request, verb: Verb.route(path: request.path), peer: peer, startedAt: startedAt, started: started, outcome)
    }

    /// The verbs `KernelService.respondNow` answers without suspending (the reads: `explain`,
    /// `query_traces`, `stats`, ...), answered on the connection's loop with no task: the same
    /// answer, the same expiry check and the same record as `handle` (which takes the rest).
    public func respondNow(to request: HTTPRequest, peer: PeerInfo) -> HTTPResponse? {
        let verb = Verb.route(path: request.path)
        guard service.answersNow(verb) else { return nil }
        let startedAt = Date()
        let started = ContinuousClock.now
        let answer: Result<VerbAnswer, WireError>
        do throws(WireError) {
            guard let value = try service.respondNow(request, verb: verb, identity: peer.spiffeID) else { return nil }
            answer = .success(value)
        } catch {
            answer = .failure(error)
        }
        guard let (response, outcome) = Self.wholeResponse(answer) else { return nil }
        // After the answer, so a request handed back to `handle` (nil above) is observed once;
        // the expiry table and its warning do not depend on the answer.
        expiry.observe(identity: peer.spiffeID, notAfter: peer.certificateNotAfter, serial: peer.certificateSerialHex)
        report(request, verb: verb, peer: peer, startedAt: startedAt, started: started, outcome)
        return response
    }

    /// The one response of an answer that is not streamed, and what to record of it; nil for
    /// frames (`stream`).
    static func wholeResponse(_ answer: Result<VerbAnswer, WireError>) -> (HTTPResponse, StreamOutcome)? {
        switch answer {
        case .success(.value(let value)):
            let response = KernelService.response(status: 200, value)
            return (response, StreamOutcome(status: 200, error: nil, bytesOut: response.body.count))
        case .success(.json(let body)):
            return (KernelService.response(status: 200, body: body), StreamOutcome(status: 200, error: nil, bytesOut: body.count))
        case .success(.frames):
            return nil
        case .failure(let error):
            let response = KernelService.response(status: error.status, error.json)
            return (response, StreamOutcome(status: error.status, error: error, bytesOut: response.body.count))
        }
    }

    /// Tells `observe` (metrics, access log) about one answered request.
    func report(_ request: HTTPRequest, verb: Verb?, peer: PeerInfo, startedAt: Date, started: ContinuousClock.Instant,
                _ outcome: StreamOutcome) {
        guard let observe else { return }
        observe(RequestRecord(
            startedAt: startedAt, peer: peer, streamID: request.streamID,
            verb: verb?.rawValue ?? "unknown",
            principal: service.identityMap.principal(for: peer.spiffeID)?.principalID,
            status: outcome.status, code: outcome.cancelled ? "cancelled" : outcome.error?.code.rawValue ?? "ok",
            reasonCode: outcome.error?.reasonCode, seconds: GatewayMetricsClock.seconds(since: started),
            bytesIn: request.body.count, bytesOut: outcome.bytesOut))
    }

    /// What a (streamed) answer came to: the status sent (nil: none, the stream was reset
    /// first), the error reported (before or after the first frame), the body bytes queued.
    struct StreamOutcome {
        var status: Int?
        var error: WireError?
        var bytesOut: Int
        var cancelled = false
    }

    /// Frames as NDJSON lines; before the first frame an error is the normal envelope and
    /// status, after it a final `{"error": {...}}` line, then END_STREAM either way. A stream
    /// the peer reset (or a cancelled task) just stops: the kernel has stopped the driver and
    /// written the trace.
    func stream(_ frames: FrameSource, to responder: ResponseStream) async -> StreamOutcome {
        var started = false
        var bytes = 0
        do {
            try await frames.run { frame in
                if !started {
                    started = true
                    responder.begin(status: 200, headers: [(name: "content-type", value: FrameSource.contentType)])
                }
                let line = FrameSource.line(frame.json)
                bytes += line.count
                try await responder.write(line)
            }
            responder.end()
            return StreamOutcome(status: 200, error: nil, bytesOut: bytes)
        } catch is ResponseStreamClosed {
        } catch is CancellationError {
        } catch {
            let wire = FrameSource.wireError(error)
            if started {
                let line = FrameSource.line(wire.json)
                try? await responder.write(line)
                responder.end()
                return StreamOutcome(status: 200, error: wire, bytesOut: bytes + line.count)
            } else {
                let response = KernelService.response(status: wire.status, wire.json)
                responder.respond(response)
                return StreamOutcome(status: wire.status, error: wire, bytesOut: response.body.count)
            }
        }
        return StreamOutcome(status: started ? 200 : nil, error: nil, bytesOut: bytes, cancelled: true)
    }
}

/// Seconds on the monotonic clock, for latencies.
enum GatewayMetricsClock {
    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
