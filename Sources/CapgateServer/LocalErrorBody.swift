import CapgateHTTP2
import CapgateWire

/// The bodies of the answers the HTTP/2 session gives before a request reaches the kernel
/// (413 body too large, 431 headers too large), in the ONE v1 error envelope of
/// docs/errors.md, so a client parses every error the same way. Without it the session
/// would answer with its transport-level shape, which has no `code`.
enum LocalErrorBody {
    static func render(_ trip: H2StreamTrip) -> [UInt8] { wireError(for: trip).json.serializedBytes() }

    static func wireError(for trip: H2StreamTrip) -> WireError {
        switch trip {
        case .bodyTooLarge(let limit):
            return WireError(.bodyTooLarge, "request body exceeds the \(limit)-byte limit of this path")
        case .headerListTooLarge:
            return WireError(.headersTooLarge, "request header list too large")
        case .tooManyHeaderFields:
            return WireError(.headersTooLarge, "too many request header fields")
        case .requestTimeout:
            return WireError(.requestTimeout, "request did not complete in time")
        case .malformedRequest, .protocolReset, .streamLimit:
            // Reset, not answered (H2LocalResponse.status is nil); kept total for safety.
            return WireError(.invalidRequest, "request refused by the HTTP/2 layer")
        }
    }
}
