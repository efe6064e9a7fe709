import AgentKernel
import CapgateConnection
import CapgateWire

/// What a verb answers (docs/design.md §2): one JSON value, or, for a streamed verb
/// (`Verb.declaration.responseContentType` `application/x-ndjson`: `invoke_stream`, §5), the
/// frames the kernel produces as they are written. Every check made before the kernel runs
/// (route, method, media type, identity, decoding, principal claim, role) has passed.
public enum VerbAnswer: Sendable {
    case value(JSONValue)
    /// A value already serialized (`serializedBytes()`, the bytes `.value` would send).
    case json([UInt8])
    case frames(FrameSource)
}

/// A kernel call that hands its frames, one at a time, to an `emit` the writer supplies; the
/// kernel asks for the next frame only after `emit` returns (back-pressure, docs/design.md §5).
/// It throws what the kernel throws (a `KernelError`), whatever `emit` threw, or
/// `CancellationError`.
public struct FrameSource: Sendable {
    public let run: @Sendable (_ emit: (Frame) async throws -> Void) async throws -> Void

    public init(_ run: @escaping @Sendable (_ emit: (Frame) async throws -> Void) async throws -> Void) {
        self.run = run
    }

    /// The 200 answer's media type: newline-delimited JSON, one `Frame` per line.
    public static let contentType = Verb.invokeStream.declaration.responseContentType

    /// One NDJSON line: the JSON text and a newline.
    static func line(_ value: JSONValue) -> [UInt8] {
        var bytes = value.serializedBytes()
        bytes.append(0x0A)
        return bytes
    }

    /// The wire error a failed stream ends with: a wire error as is, a kernel error as the wire
    /// maps it, anything else as `internal_error` (its text is not sent: it may carry driver output).
    static func wireError(_ error: any Error) -> WireError {
        if let wire = error as? WireError { return wire }  // audit_unavailable from the durability wait
        return (error as? KernelError).map { WireError($0) } ?? WireError(.internalError, "internal error")
    }

    /// The whole answer at once, for a caller that cannot stream: the lines the stream would
    /// carry in one body, or the envelope and status when it fails before the first frame.
    func collected() async -> HTTPResponse {
        var body: [UInt8] = []
        do {
            try await run { frame in body += Self.line(frame.json) }
        } catch {
            let wire = Self.wireError(error)
            guard !body.isEmpty else { return KernelService.response(status: wire.status, wire.json) }
            body += Self.line(wire.json)
        }
        return HTTPResponse(status: 200, headers: [(name: "content-type", value: Self.contentType)], body: body)
    }
}
