/// The bodies of the answers the session gives on its own (413, 431). They use the wire error
/// envelope of kernel-spec §2.3, `{"error": {"type", "message", "reason_code", "details"}}`, with
/// type `GatewayError` (no Python class exists for a transport refusal) so every client parses
/// one error shape. The server layer may inject its own renderer.
public enum H2LocalResponse {
    /// HTTP status of a stream trip the session answers itself, or nil when it resets instead.
    public static func status(for trip: H2StreamTrip) -> Int? {
        switch trip {
        case .headerListTooLarge, .tooManyHeaderFields: 431
        case .bodyTooLarge: 413
        case .malformedRequest, .protocolReset, .requestTimeout, .streamLimit: nil
        }
    }

    /// Default JSON envelope for a locally answered trip. ASCII only, no user input echoed.
    public static func jsonBody(for trip: H2StreamTrip) -> [UInt8] {
        let message: String
        var details = "{}"
        switch trip {
        case .headerListTooLarge: message = "request header list too large"
        case .tooManyHeaderFields: message = "too many request header fields"
        case .bodyTooLarge(let limit):
            message = "request body too large"
            details = "{\"limit_bytes\":\(limit)}"
        case .malformedRequest: message = "malformed request"
        case .protocolReset: message = "protocol error"
        case .requestTimeout: message = "request timeout"
        case .streamLimit: message = "stream limit reached"
        }
        let json = "{\"error\":{\"type\":\"GatewayError\",\"message\":\"\(message)\","
            + "\"reason_code\":\"\(trip.code)\",\"details\":\(details)}}"
        return Array(json.utf8)
    }
}
