/// Per-stream state of a server session: the request being assembled, the limits it is held
/// to, and the response being served. Lives from `on_begin_headers` to `on_stream_close`.
final class H2ServerStream {
    let id: Int32
    /// Injected-clock time of the first HEADERS frame (request timeout base).
    let openedAt: Double

    var method = ""
    var path = ""
    var scheme = ""
    var authority = ""
    var host: String?
    var contentType: String?
    /// Declared `content-length`; `Int.max` when it does not fit (treated as too large).
    var contentLength: Int?
    var headers: [(name: String, value: String)] = []
    /// While >= 0: the regular fields so far are the first this many of the session's
    /// `lastRequestFields`, in order, and `headers` is still empty; -1 once a field differed
    /// (then `headers` holds the list) or the block was settled.
    var repeatedFields = 0

    /// Fields and decoded bytes (name + value + 32 per field, RFC 9113 §6.5.2) seen so far,
    /// trailers included.
    var fieldCount = 0
    var listBytes = 0
    /// Set once a header limit trips: later fields are decoded (HPACK state stays in sync) but
    /// dropped, and the stream is answered 431 at END_HEADERS.
    var headerTrip: H2StreamTrip?

    var bodyLimit = 0
    var body: [UInt8] = []
    /// Body bytes this stream holds in the connection's and the server's `BodyBudget`s
    /// (docs/hardening.md "Buffered request bodies"); 0 until admitted.
    var reservedBody = 0
    /// Admitted: its DATA is credited (consumed) as it arrives, up to `reservedBody`.
    var admitted = false
    /// Waiting for room in a budget: its DATA is kept but not credited, so the peer's stream
    /// and connection windows stop it.
    var waitingForBudget = false
    /// Body bytes received and not yet credited back to the peer (nghttp2_session_consume).
    var uncredited = 0
    /// Body bytes credited back so far (never more than `reservedBody` before hand-off).
    var credited = 0
    /// The reservation was released and every received byte credited (hand-off, discard or
    /// close): nothing of this stream is left in a budget.
    var bodySettled = false
    /// The session answered or reset the stream itself; request bytes are consumed and dropped.
    var discarding = false
    /// Refused because it arrived past the streams-per-connection cap.
    var refused = false
    var delivered = false

    var responded = false
    /// Injected-clock time the response last moved (queued, or bytes taken by nghttp2): the
    /// base of `responseStallTimeout`.
    var lastProgress = 0.0
    /// The session reset it after a deadline (kept until nghttp2 closes it; never reset twice).
    var expired = false
    var response: [UInt8] = []
    var responseOffset = 0
    /// A streamed response (`respondStreaming`): `response` holds what the application queued
    /// and nghttp2 has not taken yet; the provider defers while it is empty and not ended.
    var streaming = false
    var streamEnded = false
    /// Bytes of a streamed response handed to nghttp2 so far (the producer's back-pressure).
    var streamSent = 0

    init(id: Int32, openedAt: Double) {
        self.id = id
        self.openedAt = openedAt
    }

    /// Response bytes queued that nghttp2 has not taken yet (held back by the peer's windows
    /// or the application's pace).
    var responsePending: Bool { responded && response.count > responseOffset }

    /// Drops what was buffered so a refused request holds no memory while it drains.
    func discard() {
        discarding = true
        body = []
        headers = []
    }
}
