import CNghttp2
import CNghttp2Shims
import CapgateCore

/// Errors creating a session (configuration or allocation); traffic problems are events.
public enum H2SessionError: Error, Equatable, Sendable {
    case invalidLimits(GatewayLimitsError)
    /// An nghttp2 setup call failed with this library error code.
    case library(Int32)
}

/// The server side of one HTTP/2 connection, sans-IO: bytes in (`receive`), bytes out
/// (`produce`), requests and trips out as `H2Event`s. No socket, no TLS, no clock of its own
/// (monotonic seconds are injected), so the same code runs on the event loop, in unit tests
/// and in the fuzzer.
///
/// Every limit of `GatewayLimits` that concerns HTTP/2 is pushed into nghttp2 explicitly or
/// enforced in the callbacks (docs/hardening.md "Library gaps to close in the server on 1.52").
///
/// Confinement: not `Sendable`; one instance belongs to the thread of its connection. nghttp2
/// calls back into it only from inside `receive`/`produce`/`respond`, on that thread.
public final class H2ServerSession {
    public let limits: GatewayLimits
    let clock: () -> Double
    let errorBody: (H2StreamTrip) -> [UInt8]
    /// The application's body caps by exact `:path` (see `GatewayLimits.maxBodyBytes(forPath:routes:)`).
    let routeBodyCaps: [String: Int]

    /// Owned; freed in deinit. Never nil after init.
    var session: OpaquePointer!
    /// Open streams by id. Read through `liveStream(_:)`; changed only by `addStream` and
    /// `removeStream`.
    private(set) var streams: [Int32: H2ServerStream] = [:]
    /// The stream `liveStream(_:)` found or `addStream` added last (nil after it closed): a request's
    /// callbacks name the same stream a dozen times in a row, each a hashed look-up.
    private var recentStream: H2ServerStream?
    var pending: [H2Event] = []
    var resetBucket: TokenBucket
    var glitchBucket: TokenBucket
    /// Request streams opened over the connection's lifetime.
    var totalStreams = 0
    /// CONTINUATION frames in the header block being received.
    var continuationsInBlock = 0
    /// Fields and decoded bytes of the header block being received, counted for EVERY field
    /// nghttp2 decodes (dropped, invalid and zero-length ones included): the per-stream counts
    /// stop mattering once the stream is refused, these keep the decoder's CPU bounded.
    var fieldsInBlock = 0
    var bytesInBlock = 0
    /// Set once `mem_recv` must never be called again (terminated, failed, or aborted):
    /// CVE-2026-27135 (post-terminate feed).
    var inputClosed = false
    /// Terminated without flushing (outbound flood): the connection layer just closes.
    var aborted = false
    var connectionTrip: H2ConnectionTrip?
    var draining = false
    /// Last stream id named in our GOAWAY(NO_ERROR); later streams are refused.
    var drainLastStreamID: Int32?
    /// Request-body bytes held by this connection's streams (`maxBufferedBodyBytesPerConnection`)
    /// and by every connection of the server (`maxBufferedBodyBytesGlobal`, shared).
    let connectionBodyBudget: BodyBudget
    let bodyBudget: BodyBudget
    /// Streams waiting for room in a body budget, in arrival order.
    var bodyQueue: [Int32] = []
    /// Uncredited body bytes the waiting streams hold together (`waitingBodyCeiling`).
    var waitingBodyBytes = 0
    /// The first waiting stream fits this connection's budget, not the shared one.
    var blockedOnSharedBodyBudget = false
    /// The regular fields of the last request whose header block ended (empty when it was
    /// larger than `repeatedFieldsMaxBytes`): the next request's identical fields reuse its
    /// Strings (`regularField`).
    var lastRequestFields: [(name: String, value: String)] = []
    /// The caller's buffer while `produce` runs (swapped in, so no copy).
    var outBuffer: [UInt8] = []
    var outMax = 0

    /// Creates the session and queues the server preface SETTINGS.
    ///
    /// - Parameters:
    ///   - limits: validated here; an invalid value fails fast naming its key.
    ///   - clock: monotonic seconds (token buckets, request timeouts). Injected for tests.
    ///   - routeBodyCaps: the application's request body caps by exact `:path` (its routes);
    ///     any other path gets `limits.defaultMaxBodyBytes`. The session never parses a path.
    ///   - errorBody: renders the body of the 413/431 answers. The application owns the one
    ///     error shape of its wire (docs/errors.md), so the session has none of its own.
    ///   - bodyBudget: the server's shared budget of buffered request bytes (its limit is the
    ///     caller's `maxBufferedBodyBytesGlobal`); nil gives the session one of its own.
    public init(limits: GatewayLimits = GatewayLimits(), routeBodyCaps: [String: Int] = [:],
                bodyBudget: BodyBudget? = nil,
                clock: @escaping () -> Double, errorBody: @escaping (H2StreamTrip) -> [UInt8])
        throws(H2SessionError)
    {
        do { try limits.validate() } catch { throw .invalidLimits(error) }
        self.limits = limits
        self.connectionBodyBudget = BodyBudget(limit: limits.maxBufferedBodyBytesPerConnection)
        self.bodyBudget = bodyBudget ?? BodyBudget(limit: limits.maxBufferedBodyBytesGlobal)
        self.routeBodyCaps = routeBodyCaps
        self.clock = clock
        self.errorBody = errorBody
        self.resetBucket = TokenBucket(limits.resetBudget)
        self.glitchBucket = TokenBucket(limits.glitchBudget)

        var callbacks: OpaquePointer?
        var rv = nghttp2_session_callbacks_new(&callbacks)
        guard rv == 0, let callbacks else { throw .library(rv) }
        defer { nghttp2_session_callbacks_del(callbacks) }
        Self.install(callbacks)

        var option: OpaquePointer?
        rv = nghttp2_option_new(&option)
        guard rv == 0, let option else { throw .library(rv) }
        defer { nghttp2_option_del(option) }
        // Body backpressure: windows reopen only when we consume (on_data_chunk_recv).
        nghttp2_option_set_no_auto_window_update(option, 1)
        nghttp2_option_set_max_settings(option, limits.maxSettingsEntries)  // CVE-2020-11080
        nghttp2_option_set_max_outbound_ack(option, limits.maxOutboundAcks)  // CVE-2019-9512/9515
        // Debian backports (symbols checked with nm -D; see CNghttp2Shims/include/capgate_h2.h). They are
        // backstops at twice our budgets: our counters (injected clock, ENHANCE_YOUR_CALM,
        // reported as a trip) must trip first; the library's reset limit answers INTERNAL_ERROR
        // on the wall clock and would otherwise race ours.
        capgate_h2_option_set_stream_reset_rate_limit(
            option, UInt64(2 * limits.resetBudget.burst),
            UInt64(max(1, Int(2 * limits.resetBudget.perSecond))))
        capgate_h2_option_set_max_continuations(option, limits.maxContinuations + 1)

        var created: OpaquePointer?
        rv = nghttp2_session_server_new2(&created, callbacks,
                                         Unmanaged.passUnretained(self).toOpaque(), option)
        guard rv == 0, let created else { throw .library(rv) }
        session = created
        try submitSettings()
    }

    deinit {
        releaseBodyReservations()  // the shared budget outlives this connection
        // nghttp2 calls no callbacks during del, so the unretained user_data is never used
        // after this point (docs/platform-notes.md).
        nghttp2_session_del(session)
    }

    /// SETTINGS are explicit: nghttp2 1.52 advertises unlimited concurrency and no header list
    /// size unless told (docs/hardening.md).
    private func submitSettings() throws(H2SessionError) {
        let entries: [(Int32, Int)] = [
            (Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue), limits.maxConcurrentStreams),
            (Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), limits.initialStreamWindow),
            (Int32(NGHTTP2_SETTINGS_HEADER_TABLE_SIZE.rawValue), limits.headerTableSize),
            (Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), 0),
            // RFC 9218 §2.1: disables the RFC 7540 priority tree (CVE-2019-9513).
            (Int32(NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES.rawValue), 1),
            (Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), limits.maxHeaderListBytes),
        ]
        let iv = entries.map { nghttp2_settings_entry(settings_id: $0.0, value: UInt32($0.1)) }
        var rv = iv.withUnsafeBufferPointer {
            nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), $0.baseAddress, $0.count)
        }
        guard rv == 0 else { throw .library(rv) }
        // The connection window is not a SETTING (RFC 9113 §6.9.2): raise it with WINDOW_UPDATE.
        rv = nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0,
                                                   Int32(limits.connectionWindow))
        guard rv == 0 else { throw .library(rv) }
    }

    // MARK: - Streams

    /// The open stream `id`: `streams[id]`, the last one asked for answered without hashing.
    @inline(__always)
    func liveStream(_ id: Int32) -> H2ServerStream? {
        if let recent = recentStream, recent.id == id { return recent }
        let found = streams[id]
        if found != nil { recentStream = found }
        return found
    }

    /// Adds a stream the peer opened.
    func addStream(_ stream: H2ServerStream) {
        streams[stream.id] = stream
        recentStream = stream
    }

    /// Removes a closed stream; returns it, nil if it was not open.
    func removeStream(_ streamID: Int32) -> H2ServerStream? {
        if recentStream?.id == streamID { recentStream = nil }
        return streams.removeValue(forKey: streamID)
    }

    // MARK: - Bytes in, bytes out

    /// Feeds decrypted bytes from the peer and returns what happened (requests, trips, closes).
    /// Bytes arriving after the session stopped reading are dropped unseen: nghttp2 is never
    /// fed after terminate or once `want_read` is 0 (CVE-2026-27135).
    public func receive(_ bytes: UnsafeRawBufferPointer) -> [H2Event] {
        guard wantsRead, let base = bytes.baseAddress, bytes.count > 0 else { return takeEvents() }
        let rv = nghttp2_session_mem_recv(session, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        if rv < 0 { recvFailed(Int32(rv)) }
        checkOutboundQueue()
        return takeEvents()
    }

    /// Convenience for `[UInt8]` input.
    public func receive(_ bytes: [UInt8]) -> [H2Event] {
        bytes.withUnsafeBytes { receive($0) }
    }

    /// Appends pending output to `buffer` until it holds `max` bytes (the caller's write
    /// high-water, CVE-2019-9517): a peer that never reads makes us stop here instead of
    /// buffering. Frames left over stay inside nghttp2 until the next call.
    /// Returns events raised while sending (e.g. a glitch trip on a server-sent reset).
    @discardableResult
    public func produce(into buffer: inout [UInt8], max: Int) -> [H2Event] {
        guard !aborted, buffer.count < max else { return takeEvents() }
        outMax = max
        swap(&outBuffer, &buffer)
        let rv = nghttp2_session_send(session)
        swap(&outBuffer, &buffer)
        outBuffer = []
        if rv < 0 { abort(.internalError(rv)) }
        return takeEvents()
    }

    /// nghttp2 still wants input and the session did not stop reading.
    public var wantsRead: Bool {
        !inputClosed && !aborted && nghttp2_session_want_read(session) != 0
    }

    /// nghttp2 has frames to send (the connection layer arms EPOLLOUT / calls `produce`).
    public var wantsWrite: Bool { !aborted && nghttp2_session_want_write(session) != 0 }

    /// Nothing more will be read or written: close the socket (after flushing your buffer).
    public var isClosed: Bool {
        aborted || ((inputClosed || nghttp2_session_want_read(session) == 0)
                    && nghttp2_session_want_write(session) == 0)
    }

    /// No open stream and nothing queued: idle timeout may run; a draining connection is done.
    public var isIdle: Bool { streams.isEmpty && !wantsWrite }

    /// Open request streams (for metrics and the connection layer's timers).
    public var openStreamCount: Int { streams.count }

    /// Request streams the peer opened so far (first-request timeout: still 0 means no request).
    public var streamsOpened: Int { totalStreams }

    /// Counts the events that can give a stream a new deadline: a stream opened (request
    /// timeout) or a response queued (response-stall timeout). The connection re-reads
    /// `nextRequestDeadline` when it changed, so a response queued after the request was
    /// delivered (no new stream) still gets its stall deadline armed.
    public internal(set) var deadlineEvents = 0

    /// Events raised outside `receive`/`produce` (shutdown, timeouts), and any not yet taken.
    public func takeEvents() -> [H2Event] {
        defer { pending = [] }
        return pending
    }

    /// Gives back an array of events the caller has acted on, so its storage holds the next
    /// ones: one `receive` and one `produce` per request each allocated a fresh array for
    /// their one or two events. `events` is left empty; an array given back while events are
    /// pending, or one a burst grew past `recycledEventCapacity`, is simply dropped.
    public func recycle(_ events: inout [H2Event]) {
        guard pending.isEmpty, pending.capacity == 0, events.capacity > 0,
              events.capacity <= Self.recycledEventCapacity else {
            events = []
            return
        }
        swap(&pending, &events)
        pending.removeAll(keepingCapacity: true)  // in place when unique, else a fresh empty array
    }

    /// The largest events array `recycle` keeps: a request's one or two events. An event is
    /// about a hundred bytes, and an idle connection keeps this array (docs/benchmarks.md,
    /// idle connections), so bursts' larger arrays are not kept.
    static let recycledEventCapacity = 2

    // MARK: - Lifecycle

    /// Starts a graceful shutdown: GOAWAY(NO_ERROR) naming the last stream we processed, so
    /// in-flight streams finish and the peer retries later ones elsewhere (RFC 9113 §6.8).
    /// Idempotent.
    public func beginGracefulShutdown() {
        guard !draining, !inputClosed, !aborted else { return }
        drain(lastStreamID: nghttp2_session_get_last_proc_stream_id(session))
    }

    func drain(lastStreamID: Int32) {
        draining = true
        drainLastStreamID = lastStreamID
        let rv = nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), lastStreamID,
                                       H2ErrorCode.noError.rawValue, nil, 0)
        if rv == 0 { pending.append(.draining(lastStreamID: lastStreamID)) }
    }

    /// Resets streams past their deadline, so no stream lives on the peer's goodwill. Call from
    /// the connection's timer.
    /// - a request not complete within `limits.requestTimeout` (slow header/body dribble);
    ///   a stream the session answered itself (413/431) counts too: a peer that never ends
    ///   its body would otherwise have every DATA frame consumed and dropped forever;
    /// - a queued response that made no progress for `limits.responseStallTimeout` (the peer
    ///   holds its window at 0).
    @discardableResult
    public func expireStalledStreams() -> [H2Event] {
        let now = clock()
        for stream in streams.values.sorted(by: { $0.id < $1.id }) {
            guard let (due, trip) = deadline(of: stream), now >= due else { continue }
            stream.expired = true
            if !stream.discarding { discard(stream) }
            pending.append(.streamError(streamID: stream.id, code: .cancel, trip: trip))
            _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.id,
                                          H2ErrorCode.cancel.rawValue)
        }
        return takeEvents()
    }

    /// The earliest time `expireStalledStreams` has work, or nil (for the connection's timer).
    public var nextRequestDeadline: Double? {
        streams.values.compactMap { deadline(of: $0)?.at }.min()
    }

    /// When `stream` is due for a reset, and why; nil while it is healthy or already reset.
    /// Streams the session reset itself (refused, malformed) are left to nghttp2 to close.
    private func deadline(of stream: H2ServerStream) -> (at: Double, trip: H2StreamTrip)? {
        if stream.expired || (stream.discarding && !stream.responded) { return nil }
        if !stream.delivered { return (stream.openedAt + limits.requestTimeout, .requestTimeout) }
        if stream.responsePending { return (stream.lastProgress + limits.responseStallTimeout, .responseStalled) }
        return nil
    }

    // MARK: - Trips

    /// Connection-scoped violation: GOAWAY with `code`, stop reading. The caller returns
    /// NGHTTP2_ERR_CALLBACK_FAILURE from a receive callback so `mem_recv` stops at once.
    func tripConnection(_ trip: H2ConnectionTrip, code: H2ErrorCode) {
        inputClosed = true
        guard connectionTrip == nil else { return }
        connectionTrip = trip
        pending.append(.connectionError(trip))
        _ = nghttp2_session_terminate_session(session, code.rawValue)
    }

    /// Terminate without flushing: the peer is flooding our output, sending more only feeds it.
    func abort(_ trip: H2ConnectionTrip) {
        inputClosed = true
        aborted = true
        if connectionTrip == nil {
            connectionTrip = trip
            pending.append(.connectionError(trip))
        }
    }

    /// How many times the header limits one block may decode to before the connection is cut
    /// (docs/limits.md). Past the limit the stream is answered 431 anyway; the slack only lets
    /// an honest client that overshot a little get its 431 instead of a GOAWAY.
    /// (A `var` only so a measurement can switch the cut off; nothing in the product sets it.)
    var headerFloodFactor = 4

    /// Counts one decoded field of the current header block. Returns false when the block
    /// passed `headerFloodFactor` times `maxHeaderListBytes` or `maxHeaderFields` and the
    /// connection was tripped (the caller stops `mem_recv` with a callback failure).
    func countBlockField(_ nlen: Int, _ vlen: Int) -> Bool {
        fieldsInBlock += 1
        bytesInBlock += nlen + vlen + 32  // RFC 9113 §6.5.2: a zero-length field still costs 32
        if fieldsInBlock > headerFloodFactor * limits.maxHeaderFields
            || bytesInBlock > headerFloodFactor * limits.maxHeaderListBytes
        {
            tripConnection(.headerFlood, code: .enhanceYourCalm)
            return false
        }
        return true
    }

    /// One glitch (invalid frame, server-sent reset, empty frame). Returns false when the budget
    /// is exhausted and the connection was tripped.
    func glitch() -> Bool {
        if glitchBucket.take(now: clock()) { return true }
        tripConnection(.glitchFlood, code: .enhanceYourCalm)
        return false
    }

    /// CVE-2019-9514: a peer provoking many queued frames is cut off rather than buffered.
    @discardableResult
    func checkOutboundQueue() -> Bool {
        if aborted { return false }
        if nghttp2_session_get_outbound_queue_size(session) > limits.maxOutboundQueueFrames {
            abort(.outboundQueueOverflow)
            return false
        }
        return true
    }

    private func recvFailed(_ rv: Int32) {
        inputClosed = true
        if connectionTrip != nil { return }  // our own callback stopped mem_recv
        switch rv {
        case NGHTTP2_ERR_FLOODED.rawValue:
            abort(.outboundQueueOverflow)
        case NGHTTP2_ERR_BAD_CLIENT_MAGIC.rawValue:
            tripConnection(.protocolError(.protocolError), code: .protocolError)
        default:
            // Library-detected fatal condition (e.g. a backported flood check): tell the peer
            // to calm down rather than nothing; the connection closes after the flush.
            tripConnection(.internalError(rv), code: .enhanceYourCalm)
        }
    }
}
