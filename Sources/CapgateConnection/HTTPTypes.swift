import CapgateHTTP2

/// One complete HTTP/2 request as the application sees it: the session's `H2Request`, handed
/// over as delivered after END_STREAM with every limit held (GatewayLimits). One request type
/// crosses the transport -> application boundary, never copied into another: the application
/// decodes only its body (the kernel server into a `WireRequest`).
public typealias HTTPRequest = H2Request

/// The answer to one request. The transport adds `:status`, `content-type` (default
/// `application/json`, a `content-type` entry in `headers` replaces it) and `content-length`;
/// connection-specific and pseudo headers in `headers` are dropped (RFC 9113 §8.2.2).
public struct HTTPResponse: Sendable {
    /// 200...599; anything else is answered 500 (the transport never sends an invalid status).
    public var status: Int
    /// Extra header fields.
    public var headers: [(name: String, value: String)]
    /// Body bytes (JSON by convention).
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response from UTF-8 text.
    public static func json(_ status: Int, _ text: String,
                            headers: [(name: String, value: String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: headers, body: Array(text.utf8))
    }
}

/// Who is on the other end, from the VERIFIED client certificate only (docs/hardening.md: identity
/// never comes from a header or the body). Built once per connection after the handshake and
/// the SPIFFE X509-SVID checks (`PeerIdentity`); a connection that fails them never reaches a
/// handler.
public struct PeerInfo: Sendable, Equatable {
    /// The single URI SAN, e.g. `spiffe://example.org/agent/billing`.
    public var spiffeID: String
    /// Its trust domain (`example.org`).
    public var trustDomain: String
    /// Client certificate notAfter, Unix seconds (expiry metrics, warnings).
    public var certificateNotAfter: Int64
    /// Client certificate serial, lowercase hex (audit logs, CRLs).
    public var certificateSerialHex: String
    /// "ip:port" of the TCP peer (IPv6 bracketed).
    public var remoteAddress: String
    /// (issuer, serial) keys (`CRL.revocationKey`) of the client chain below its anchor,
    /// leaf first: what a CRL reload drains by (serials are unique per issuer only).
    public var chainRevocationKeys: [String]
    /// DER of the trust anchor the client chain was verified to: a trust-bundle reload that
    /// removes it drains the connection. Empty when unknown.
    public var trustAnchorDER: [UInt8]
    /// The server's number for this connection, unique across loops (1, 2, ...; the access log).
    public var connectionID: UInt64 = 0
    /// Negotiated TLS version and cipher suite (`TLSv1.3`, `TLS_AES_256_GCM_SHA384`); empty when unknown.
    public var tlsVersion: String = ""
    public var tlsCipher: String = ""

    public init(spiffeID: String, trustDomain: String, certificateNotAfter: Int64,
                certificateSerialHex: String, remoteAddress: String,
                chainRevocationKeys: [String] = [], trustAnchorDER: [UInt8] = []) {
        self.spiffeID = spiffeID
        self.trustDomain = trustDomain
        self.certificateNotAfter = certificateNotAfter
        self.certificateSerialHex = certificateSerialHex
        self.remoteAddress = remoteAddress
        self.chainRevocationKeys = chainRevocationKeys
        self.trustAnchorDER = trustAnchorDER
    }
}

/// The application behind the transport (the kernel service in production, an echo in tests).
///
/// `respondNow` is asked first, on the loop; when it answers nil, `handle` is called from a
/// Swift concurrency task whose executor preference is the connection's event
/// loop (`LoopTaskExecutor`), so it may await but must never block its thread: a blocking
/// call would stall every connection of that loop. Many calls run concurrently (one per
/// in-flight stream, across connections and loops). Authorization (an
/// unmapped identity answers 403 `unknown_identity`) is the handler's job: the transport only
/// guarantees that `peer` is a verified, well-formed SPIFFE identity.
///
/// The application also hands the transport what only it knows: the request body cap of each of
/// its routes (the transport never parses a path into a route) and the body of the answers the
/// HTTP/2 session gives on its own (413, 431), so the wire keeps the application's ONE error
/// shape (the transport never imports the wire).
public protocol RequestHandler: Sendable {
    func handle(_ request: HTTPRequest, peer: PeerInfo) async -> HTTPResponse
    /// Answers through `responder`, whole or streamed; the default answers `handle`'s response.
    func handle(_ request: HTTPRequest, peer: PeerInfo, responder: ResponseStream) async

    /// The whole answer to `request`, computed at once on the connection's loop, when the
    /// handler can give it without suspending (a read of in-memory state); nil sends the
    /// request to `handle(_:peer:responder:)` in a task, as every request went before. WHY:
    /// at one request at a time, creating and scheduling that task was a measurable part of a
    /// cheap verb's server time. The request holds its in-flight slots while this runs, like
    /// a task; it must not block and must not do more than a task would before its first
    /// await. The default answers nothing here.
    func respondNow(to request: HTTPRequest, peer: PeerInfo) -> HTTPResponse?

    /// Request body caps by exact `:path`; any other path gets `GatewayLimits.defaultMaxBodyBytes`
    /// (`GatewayLimits.maxBodyBytes(forPath:routes:)`, clamped to `hardMaxBodyBytes`).
    var routeBodyCaps: [String: Int] { get }

    /// The body of a 413/431 the session answers itself (`H2LocalResponse.status(for:)`).
    /// Must not echo request data: the trip carries none but the cap.
    func localErrorBody(for trip: H2StreamTrip) -> [UInt8]

    /// The body of the 503 the transport answers when the in-flight handler cap of the
    /// connection or of the server is reached (`InFlightBudget`); the default is empty.
    func overloadedBody() -> [UInt8]
}
