import AgentKernel
import CapgateConnection
import CapgateCore
import CapgateWire

/// The transport's entry point: a verb that answers with frames (`invoke_stream`,
/// docs/design.md §5) is streamed as they come; every other answer is sent whole.
extension KernelRequestHandler {
    public func handle(_ request: HTTPRequest, peer: PeerInfo, responder: ResponseStream) async {
        expiry.observe(identity: peer.spiffeID, notAfter: peer.certificateNotAfter, serial: peer.certificateSerialHex)
        switch await service.answer(request, identity: peer.spiffeID) {
        case .success(.value(let value)): responder.respond(KernelService.response(status: 200, value))
        case .success(.frames(let frames)): await stream(frames, to: responder)
        case .failure(let error): responder.respond(KernelService.response(status: error.status, error.json))
        }
    }

    /// Frames as NDJSON lines; before the first frame an error is the normal envelope and
    /// status, after it a final `{"error": {...}}` line, then END_STREAM either way. A stream
    /// the peer reset (or a cancelled task) just stops: the kernel has stopped the driver and
    /// written the trace.
    func stream(_ frames: FrameSource, to responder: ResponseStream) async {
        var started = false
        do {
            try await frames.run { frame in
                if !started {
                    started = true
                    responder.begin(status: 200, headers: [(name: "content-type", value: FrameSource.contentType)])
                }
                try await responder.write(FrameSource.line(frame.json))
            }
            responder.end()
        } catch is ResponseStreamClosed {
        } catch is CancellationError {
        } catch {
            let wire = FrameSource.wireError(error)
            if started {
                try? await responder.write(FrameSource.line(wire.json))
                responder.end()
            } else {
                responder.respond(KernelService.response(status: wire.status, wire.json))
            }
        }
    }
}
