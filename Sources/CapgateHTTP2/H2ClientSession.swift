import CNghttp2

/// A complete response as the client saw it.
public struct H2Response: Sendable, Equatable {
    public let streamID: Int32
    public let status: Int
    /// Regular header fields in arrival order (no pseudo-headers).
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    /// First value of a header (names are lowercase on HTTP/2).
    public func header(_ name: String) -> String? { headers.first { $0.name == name }?.value }

    public static func == (a: H2Response, b: H2Response) -> Bool {
        a.streamID == b.streamID && a.status == b.status && a.body == b.body
            && a.headers.map(\.name) == b.headers.map(\.name) && a.headers.map(\.value) == b.headers.map(\.value)
    }
}

/// What the client session reports.
public enum H2ClientEvent: Sendable, Equatable {
    case response(H2Response)
    /// The stream ended without a complete response (peer RST_STREAM, or GOAWAY above it).
    case streamReset(streamID: Int32, code: H2ErrorCode)
    /// The peer sent GOAWAY.
    case goaway(lastStreamID: Int32, code: H2ErrorCode)
    /// The library failed; the connection is unusable.
    case connectionError(Int32)
    /// The response body passed the request's `maxResponseBody`; the stream was reset (CANCEL).
    case responseTooLarge(streamID: Int32)
}

/// The client side of one HTTP/2 connection, sans-IO like `H2ServerSession`: used by the Swift
/// client library and by tests (client and server sessions talk in memory). Many concurrent
/// streams; request bodies are served in chunks as flow control allows. Not `Sendable`:
/// confined to one thread.
public final class H2ClientSession {
    final class Stream {
        var request: [UInt8]
        var offset = 0
        var status = 0
        var headers: [(name: String, value: String)] = []
        var body: [UInt8] = []
        var complete = false
        /// Body bytes accepted before the stream is reset; nil: unbounded.
        var maxBody: Int?
        /// A streamed response: head and body chunks go here as they arrive (unbuffered).
        var sink: (any H2ResponseSink)?
        var headDelivered = false
        init(request: [UInt8]) { self.request = request }
    }

    var session: OpaquePointer!
    var streams: [Int32: Stream] = [:]
    var pending: [H2ClientEvent] = []
    var failed = false
    var outBuffer: [UInt8] = []
    var outMax = 0

    /// - Parameters:
    ///   - initialWindow: our SETTINGS_INITIAL_WINDOW_SIZE (response bytes per stream in flight).
    ///   - connectionWindow: our connection receive window.
    public init(initialWindow: Int = 1 << 20, connectionWindow: Int = 1 << 24) throws(H2SessionError) {
        var callbacks: OpaquePointer?
        var rv = nghttp2_session_callbacks_new(&callbacks)
        guard rv == 0, let callbacks else { throw .library(rv) }
        defer { nghttp2_session_callbacks_del(callbacks) }
        Self.install(callbacks)
        var created: OpaquePointer?
        rv = nghttp2_session_client_new(&created, callbacks, Unmanaged.passUnretained(self).toOpaque())
        guard rv == 0, let created else { throw .library(rv) }
        session = created
        let iv = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue),
                                   value: UInt32(initialWindow)),
        ]
        rv = iv.withUnsafeBufferPointer {
            nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), $0.baseAddress, $0.count)
        }
        guard rv == 0 else { throw .library(rv) }
        rv = nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0,
                                                   Int32(connectionWindow))
        guard rv == 0 else { throw .library(rv) }
    }

    deinit { nghttp2_session_del(session) }

    /// Queues a request; returns its stream id, or nil when the session cannot open streams
    /// (GOAWAY received, ids exhausted). `content-length` is added when a body is sent.
    /// `maxResponseBody` bounds the buffered response body: past it the stream is reset and
    /// `.responseTooLarge` reported instead of a response (a peer cannot grow our memory).
    public func submitRequest(method: String = "POST", path: String, authority: String,
                              scheme: String = "https", headers: [(name: String, value: String)] = [],
                              body: [UInt8], maxResponseBody: Int? = nil,
                              sink: (any H2ResponseSink)? = nil) -> Int32? {
        // After GOAWAY nghttp2 would accept the submit and refuse the stream later; say no now.
        guard !failed, nghttp2_session_check_request_allowed(session) != 0 else { return nil }
        var fields: [(name: String, value: String)] = [
            (":method", method), (":scheme", scheme), (":authority", authority), (":path", path),
        ]
        if !body.isEmpty || method == "POST" { fields.append(("content-length", String(body.count))) }
        fields.append(contentsOf: headers)
        let stream = Stream(request: body)
        stream.maxBody = maxResponseBody
        stream.sink = sink
        let id: Int32 = H2Fields.withNV(fields) { nva, count in
            if body.isEmpty { return nghttp2_submit_request(session, nil, nva, count, nil, nil) }
            var provider = nghttp2_data_provider(
                source: nghttp2_data_source(ptr: nil),
                read_callback: { _, streamID, buf, length, flags, _, ud in
                    H2ClientSession.from(ud).readRequest(streamID, buf, length, flags)
                })
            return nghttp2_submit_request(session, nil, nva, count, &provider, nil)
        }
        guard id > 0 else { return nil }
        streams[id] = stream
        if let sink, !sink.opened(streamID: id) { resetStream(id, code: .cancel) }
        return id
    }

    /// Cancels a stream (RST_STREAM); tests use it to play a rapid-reset client.
    public func resetStream(_ streamID: Int32, code: H2ErrorCode = .cancel) {
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), streamID, code.rawValue)
    }

    /// Feeds bytes from the server. Never feeds nghttp2 once it stopped wanting input.
    public func receive(_ bytes: UnsafeRawBufferPointer) -> [H2ClientEvent] {
        guard wantsRead, let base = bytes.baseAddress, bytes.count > 0 else { return takeEvents() }
        let rv = nghttp2_session_mem_recv(session, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        if rv < 0 { fail(Int32(rv)) }
        return takeEvents()
    }

    public func receive(_ bytes: [UInt8]) -> [H2ClientEvent] { bytes.withUnsafeBytes { receive($0) } }

    /// Appends pending output to `buffer` until it holds `max` bytes.
    @discardableResult
    public func produce(into buffer: inout [UInt8], max: Int) -> [H2ClientEvent] {
        guard !failed, buffer.count < max else { return takeEvents() }
        outMax = max
        swap(&outBuffer, &buffer)
        let rv = nghttp2_session_send(session)
        swap(&outBuffer, &buffer)
        outBuffer = []
        if rv < 0 { fail(rv) }
        return takeEvents()
    }

    public var wantsRead: Bool { !failed && nghttp2_session_want_read(session) != 0 }
    public var wantsWrite: Bool { !failed && nghttp2_session_want_write(session) != 0 }
    public var isClosed: Bool { failed || (!wantsRead && !wantsWrite) }
    /// Streams submitted and not yet answered or reset.
    public var openStreamCount: Int { streams.count }

    /// A SETTINGS value the server announced (nghttp2's view, defaults until its SETTINGS came).
    public func remoteSetting(_ id: Int32) -> UInt32 {
        nghttp2_session_get_remote_settings(session, nghttp2_settings_id(rawValue: UInt32(id)))
    }

    public func takeEvents() -> [H2ClientEvent] {
        defer { pending = [] }
        return pending
    }

    private func fail(_ rv: Int32) {
        if !failed { pending.append(.connectionError(rv)) }
        failed = true
    }

    static func from(_ ud: UnsafeMutableRawPointer?) -> H2ClientSession {
        Unmanaged<H2ClientSession>.fromOpaque(ud!).takeUnretainedValue()
    }

    // MARK: - Callbacks

    static func install(_ cbs: OpaquePointer) {
        nghttp2_session_callbacks_set_send_callback(cbs) { _, data, length, _, ud in
            let s = H2ClientSession.from(ud)
            let room = s.outMax - s.outBuffer.count
            guard room > 0, let data else { return H2Frame.wouldBlock }
            let n = min(room, length)
            s.outBuffer.append(contentsOf: UnsafeBufferPointer(start: data, count: n))
            return n
        }
        nghttp2_session_callbacks_set_on_header_callback(cbs) { _, frame, name, nlen, value, vlen, _, ud in
            guard let frame, let stream = H2ClientSession.from(ud).streams[frame.pointee.hd.stream_id]
            else { return 0 }
            let key = H2Fields.string(name, nlen), val = H2Fields.string(value, vlen)
            if key == ":status" {
                stream.status = Int(val) ?? 0
                stream.headers = []  // a final response replaces any 1xx fields
            } else if !key.hasPrefix(":") {
                stream.headers.append((key, val))
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs) { _, _, streamID, data, len, ud in
            let s = H2ClientSession.from(ud)
            guard let data, let stream = s.streams[streamID], !stream.complete else { return 0 }
            if let sink = stream.sink {
                sink.data(Array(UnsafeBufferPointer(start: data, count: len)))
                return 0
            }
            if let max = stream.maxBody, stream.body.count + len > max {
                // Reported once; `complete` keeps the reset from also surfacing as streamReset.
                stream.complete = true
                stream.body = []
                s.pending.append(.responseTooLarge(streamID: streamID))
                s.resetStream(streamID, code: .cancel)
                return 0
            }
            stream.body.append(contentsOf: UnsafeBufferPointer(start: data, count: len))
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(cbs) { _, frame, ud in
            guard let frame else { return 0 }
            let s = H2ClientSession.from(ud), f = frame.pointee
            if f.hd.type == H2Frame.headers, let stream = s.streams[f.hd.stream_id], let sink = stream.sink,
               !stream.headDelivered, stream.status >= 200 {
                stream.headDelivered = true
                sink.head(status: stream.status, headers: stream.headers)
            }
            if f.hd.type == H2Frame.goaway {
                s.pending.append(.goaway(lastStreamID: f.goaway.last_stream_id,
                                         code: H2ErrorCode(rawValue: f.goaway.error_code)))
            } else if (f.hd.type == H2Frame.headers || f.hd.type == H2Frame.data),
                      f.hd.flags & H2Frame.endStream != 0, let stream = s.streams[f.hd.stream_id],
                      !stream.complete {
                stream.complete = true
                s.pending.append(.response(H2Response(streamID: f.hd.stream_id, status: stream.status,
                                                      headers: stream.headers, body: stream.body)))
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(cbs) { _, streamID, code, ud in
            let s = H2ClientSession.from(ud)
            if let stream = s.streams.removeValue(forKey: streamID), !stream.complete {
                s.pending.append(.streamReset(streamID: streamID, code: H2ErrorCode(rawValue: code)))
            }
            return 0
        }
    }

    func readRequest(_ streamID: Int32, _ buf: UnsafeMutablePointer<UInt8>?, _ length: Int,
                     _ flags: UnsafeMutablePointer<UInt32>?) -> Int {
        guard let stream = streams[streamID], let buf, let flags else { return Int(H2Frame.temporalFailure) }
        let n = min(length, stream.request.count - stream.offset)
        if n > 0 {
            stream.request.withUnsafeBufferPointer { buf.update(from: $0.baseAddress! + stream.offset, count: n) }
        }
        stream.offset += n
        if stream.offset >= stream.request.count {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            stream.request = []
        }
        return n
    }
}
