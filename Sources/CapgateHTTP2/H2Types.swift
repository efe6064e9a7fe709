/// HTTP/2 error codes (RFC 9113 §7) as seen on RST_STREAM and GOAWAY.
public struct H2ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let noError = H2ErrorCode(rawValue: 0x0)
    public static let protocolError = H2ErrorCode(rawValue: 0x1)
    public static let internalError = H2ErrorCode(rawValue: 0x2)
    public static let flowControlError = H2ErrorCode(rawValue: 0x3)
    public static let settingsTimeout = H2ErrorCode(rawValue: 0x4)
    public static let streamClosed = H2ErrorCode(rawValue: 0x5)
    public static let frameSizeError = H2ErrorCode(rawValue: 0x6)
    public static let refusedStream = H2ErrorCode(rawValue: 0x7)
    public static let cancel = H2ErrorCode(rawValue: 0x8)
    public static let compressionError = H2ErrorCode(rawValue: 0x9)
    public static let connectError = H2ErrorCode(rawValue: 0xa)
    public static let enhanceYourCalm = H2ErrorCode(rawValue: 0xb)
    public static let inadequateSecurity = H2ErrorCode(rawValue: 0xc)
    public static let http11Required = H2ErrorCode(rawValue: 0xd)

    public var description: String {
        let names = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
                     "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM",
                     "CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM",
                     "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"]
        return Int(rawValue) < names.count ? names[Int(rawValue)] : "0x\(String(rawValue, radix: 16))"
    }
}

/// A complete request: headers plus the whole body, delivered once END_STREAM arrived and every
/// limit held. Names are lowercase (RFC 9113 §8.2.1, validated by nghttp2). This is THE request
/// type across the transport -> application boundary (`HTTPRequest` in CapgateConnection is this
/// type): the application gets it as delivered, plus the peer's verified identity.
public struct H2Request: Sendable, Equatable {
    public let streamID: Int32
    public let method: String
    public let path: String
    public let scheme: String
    /// `:authority`, or the `host` header when the pseudo-header is absent; empty if neither.
    public let authority: String
    /// `content-type`, if any.
    public let contentType: String?
    /// Regular (non-pseudo) header fields in arrival order; trailers are not included.
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    /// `streamID` is the transport's; an application building a request of its own (an
    /// in-process benchmark, a test) leaves it 0.
    public init(streamID: Int32 = 0, method: String, path: String, scheme: String = "https", authority: String = "",
                contentType: String? = nil, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.streamID = streamID
        self.method = method
        self.path = path
        self.scheme = scheme
        self.authority = authority
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    /// First value of a header (case-insensitive name).
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name == wanted }?.value
    }

    public static func == (a: H2Request, b: H2Request) -> Bool {
        a.streamID == b.streamID && a.method == b.method && a.path == b.path && a.scheme == b.scheme
            && a.authority == b.authority && a.contentType == b.contentType && a.body == b.body
            && a.headers.map(\.name) == b.headers.map(\.name) && a.headers.map(\.value) == b.headers.map(\.value)
    }
}

/// Why the session refused a stream on its own (stream scope: the connection stays usable).
/// `code` is a stable string for counters and logs.
public enum H2StreamTrip: Sendable, Equatable {
    /// Decoded header list above `maxHeaderListBytes` (HPACK bomb): answered 431.
    case headerListTooLarge
    /// More fields than `maxHeaderFields` (0-length header flood): answered 431.
    case tooManyHeaderFields
    /// Body (or declared content-length) above the path's cap: answered 413, rest discarded.
    case bodyTooLarge(limit: Int)
    /// A required pseudo-header is missing or the request is malformed: RST_STREAM.
    case malformedRequest
    /// The library reset the stream (protocol violation, content-length mismatch, ...).
    case protocolReset
    /// The request did not complete within `requestTimeout`: RST_STREAM(CANCEL).
    case requestTimeout
    /// A queued response made no progress within `responseStallTimeout` (the peer's window
    /// stayed closed): RST_STREAM(CANCEL).
    case responseStalled
    /// Opened past the streams-per-connection cap or after our GOAWAY: RST_STREAM(REFUSED_STREAM).
    case streamLimit
    /// Waited for room in the buffered-body budgets while its uncredited bytes, with those of
    /// the connection's other waiting streams, passed what the connection window can spare:
    /// RST_STREAM(REFUSED_STREAM), not processed, safe to retry (docs/hardening.md
    /// "Buffered request bodies").
    case bodyBudget

    public var code: String {
        switch self {
        case .headerListTooLarge: "header_list_too_large"
        case .tooManyHeaderFields: "too_many_header_fields"
        case .bodyTooLarge: "body_too_large"
        case .malformedRequest: "malformed_request"
        case .protocolReset: "protocol_reset"
        case .requestTimeout: "request_timeout"
        case .responseStalled: "response_stalled"
        case .streamLimit: "stream_limit"
        case .bodyBudget: "body_budget"
        }
    }
}

/// Why the session closed the connection (connection scope). `code` is a stable string.
public enum H2ConnectionTrip: Sendable, Equatable {
    /// Peer RST_STREAM budget exhausted (Rapid Reset): GOAWAY(ENHANCE_YOUR_CALM).
    case resetFlood
    /// Glitch budget exhausted (invalid frames, server-sent resets, empty frames):
    /// GOAWAY(ENHANCE_YOUR_CALM).
    case glitchFlood
    /// Too many CONTINUATION frames in one header block: GOAWAY(ENHANCE_YOUR_CALM).
    case continuationFlood
    /// One header block decoded to more than `H2ServerSession.headerFloodFactor` times the
    /// header limits (HPACK bomb, floods of zero-length fields): decoding on would burn CPU for
    /// nothing, the stream is already refused. GOAWAY(ENHANCE_YOUR_CALM).
    case headerFlood
    /// nghttp2's outbound queue passed `maxOutboundQueueFrames`, or the library reported a
    /// flood: terminated without flushing.
    case outboundQueueOverflow
    /// The library detected a connection error and sent GOAWAY with this code.
    case protocolError(H2ErrorCode)
    /// The library failed in a way that is not the peer's doing (out of memory, ...).
    case internalError(Int32)

    public var code: String {
        switch self {
        case .resetFlood: "reset_flood"
        case .glitchFlood: "glitch_flood"
        case .continuationFlood: "continuation_flood"
        case .headerFlood: "header_flood"
        case .outboundQueueOverflow: "outbound_queue_overflow"
        case .protocolError: "protocol_error"
        case .internalError: "internal_error"
        }
    }
}

/// What the server session reports to the connection layer.
public enum H2Event: Sendable, Equatable {
    /// A complete request to route; answer it with `respond(streamID:status:headers:body:)`.
    case request(H2Request)
    /// The session refused a stream itself; count it. `code` is the RST_STREAM code, or
    /// NO_ERROR when the session answered with a status instead (413, 431).
    case streamError(streamID: Int32, code: H2ErrorCode, trip: H2StreamTrip)
    /// A stream closed (normally or reset by the peer) before or after its response; in-flight
    /// work for it can be cancelled. `code` is the RST_STREAM code or NO_ERROR.
    case streamClosed(streamID: Int32, code: H2ErrorCode)
    /// The session sent GOAWAY for a connection-scoped violation; stop reading, flush, close.
    case connectionError(H2ConnectionTrip)
    /// The server started draining: GOAWAY(NO_ERROR) with this last stream id was queued
    /// (streams-per-connection cap, or `beginGracefulShutdown`).
    case draining(lastStreamID: Int32)
    /// The peer sent GOAWAY.
    case goaway(lastStreamID: Int32, code: H2ErrorCode)
}
