import CapgateCore
import CapgateHTTP2
import CapgateWire

/// What the kernel application hands the transport, derived from the verb list so the
/// transport never parses `/v1/<verb>` and never owns an error shape.
public enum KernelRoutes {
    /// The request body cap of each verb's path: the verb's `maxBodyBytesPerVerb` entry, else
    /// `defaultMaxBodyBytes`, clamped to `hardMaxBodyBytes` (values: GatewayLimits,
    /// docs/limits.md). Keyed by exact path, the rule `Verb.route` routes by: a path the
    /// router does not know (a query string, a suffix) gets the default cap.
    public static func bodyCaps(_ limits: GatewayLimits) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: Verb.allCases.map { ($0.path, limits.maxBodyBytes(forVerb: $0.rawValue)) })
    }

    /// The body of an answer the HTTP/2 session gives before a request reaches the kernel
    /// (413 body too large, 431 headers too large), in the ONE v1 error envelope of
    /// docs/errors.md, so a client parses every error the same way.
    public static func errorBody(for trip: H2StreamTrip) -> [UInt8] { wireError(for: trip).json.serializedBytes() }

    /// The body of the 503 the transport answers past an in-flight handler cap
    /// (`maxInFlightPerConnection`, `maxInFlightGlobal`): the `overloaded` envelope.
    public static func overloadedBody() -> [UInt8] {
        WireError(.overloaded, "too many requests in flight; retry later").json.serializedBytes()
    }

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
        case .malformedRequest, .protocolReset, .responseStalled, .streamLimit, .bodyBudget:
            // Reset, not answered (H2LocalResponse.status is nil); kept total for safety.
            return WireError(.invalidRequest, "request refused by the HTTP/2 layer")
        }
    }
}
