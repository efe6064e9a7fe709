import AgentKernel
import CapgateConnection
import CapgateCore
import CapgateWire

/// The streamed answer of `/v1/invoke_stream` (docs/design.md §5): every other path is answered
/// whole by `handle(_:peer:)`.
extension KernelRequestHandler {
    /// `/v1/invoke_stream` takes the invoke body: its cap is `maxBodyBytesPerVerb.invoke_stream`
    /// (the same default as invoke). It is a route, not a `Verb`: its answer is a stream.
    static func streamBodyCaps(_ limits: GatewayLimits) -> [String: Int] {
        [KernelService.invokeStreamPath: limits.maxBodyBytes(forVerb: "invoke_stream")]
    }

    public func handle(_ request: HTTPRequest, peer: PeerInfo, responder: ResponseStream) async {
        guard request.path == KernelService.invokeStreamPath else {
            responder.respond(await handle(request, peer: peer))
            return
        }
        expiry.observe(identity: peer.spiffeID, notAfter: peer.certificateNotAfter, serial: peer.certificateSerialHex)
        let call: KernelService.StreamCall
        do throws(WireError) {
            call = try service.prepareInvokeStream(request, identity: peer.spiffeID)
        } catch {
            responder.respond(Self.envelope(error))
            return
        }
        await stream(call, to: responder)
    }

    /// Frames as NDJSON lines; before the first frame an error is the normal envelope and
    /// status, after it a final `{"error": {...}}` line, then END_STREAM either way. A stream
    /// the peer reset (or a cancelled task) just stops: the kernel has stopped the driver and
    /// written the trace.
    func stream(_ call: KernelService.StreamCall, to responder: ResponseStream) async {
        var started = false
        do {
            try await service.kernel.invokeStream(call.token, principal: call.principal, args: call.args,
                                                  responseMode: call.responseMode,
                                                  session: call.principal.principalID) { frame in
                if !started {
                    started = true
                    responder.begin(status: 200, headers: [(name: "content-type", value: KernelService.streamContentType)])
                }
                try await responder.write(KernelService.line(frame.json))
            }
            responder.end()
        } catch is ResponseStreamClosed {
        } catch is CancellationError {
        } catch {
            let wire = (error as? KernelError).map { WireError($0) }
                ?? WireError(.internalError, "internal error")
            if started {
                try? await responder.write(KernelService.line(wire.json))
                responder.end()
            } else {
                responder.respond(Self.envelope(wire))
            }
        }
    }

    static func envelope(_ error: WireError) -> HTTPResponse {
        HTTPResponse(status: error.status, headers: [(name: "content-type", value: "application/json")],
                     body: error.json.serializedBytes())
    }
}
