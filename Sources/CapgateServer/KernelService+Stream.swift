import AgentKernel
import CapgateConnection
import CapgateWire

/// `POST /v1/invoke_stream` (docs/design.md §5): the `invoke` body, the same route, media type,
/// identity, decoding and principal checks as every verb, then `Kernel.invokeStream`.
extension KernelService {
    public static let invokeStreamPath = "/v1/invoke_stream"
    /// The NDJSON media type of a stream's 200 answer.
    public static let streamContentType = "application/x-ndjson"

    /// An invoke_stream call that passed every check made before the kernel runs.
    public struct StreamCall: Sendable {
        public var token: CapabilityToken
        public var principal: Principal
        public var args: JSONObject
        public var responseMode: ResponseMode
    }

    /// The checks of `respond` for the stream path, in the same order; any failure is the
    /// normal error envelope. A dry run has no stream: it is refused as an invalid request.
    public func prepareInvokeStream(_ request: HTTPRequest, identity: String) throws(WireError) -> StreamCall {
        guard request.path == Self.invokeStreamPath else {
            throw WireError(.unknownVerb, "no verb at \(PyString.repr(String(request.path.prefix(200))))")
        }
        guard request.method == "POST" else {
            throw WireError(.methodNotAllowed, "\(Self.invokeStreamPath) answers POST only")
        }
        guard KernelService.isJSON(request.contentType) else {
            throw WireError(.unsupportedMediaType, "content-type must be application/json")
        }
        let map = identityMap
        guard let principal = map.principal(for: identity) else {
            throw WireError(.unknownIdentity, "identity \(PyString.repr(identity)) is not mapped to a principal")
        }
        guard case .invoke(let token, let args, let mode, let dryRun, let claimed) =
                try WireRequest.decode(.invoke, body: request.body) else {
            throw WireError(.internalError, "invoke body decoded to another verb")
        }
        if let claimed, !PyString.equal(claimed, principal.principalID) {
            throw WireError(.principalMismatch, "body principal \(PyString.repr(claimed)) is not the authenticated principal")
        }
        if dryRun {
            throw WireError(.invalidRequest, "dry_run: invoke_stream has no dry run; use invoke")
        }
        return StreamCall(token: token, principal: principal, args: args, responseMode: mode)
    }

    /// One NDJSON line: the JSON text and a newline.
    static func line(_ value: JSONValue) -> [UInt8] {
        var bytes = value.serializedBytes()
        bytes.append(0x0A)
        return bytes
    }
}
