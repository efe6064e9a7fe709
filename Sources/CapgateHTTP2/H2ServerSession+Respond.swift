import CNghttp2

extension H2ServerSession {
    /// Queues the response to a delivered request: `:status`, `content-type` (default
    /// `application/json`; a caller's `content-type` replaces it), `content-length`, the
    /// caller's extra `headers` (lowercased; pseudo and connection-specific ones dropped,
    /// RFC 9113 §8.2.2), and `body` served in chunks as flow control allows.
    /// Returns false when the stream is gone (peer reset, closed, refused by the session) or
    /// already answered: the caller just drops its result.
    @discardableResult
    public func respond(streamID: Int32, status: Int, headers: [(name: String, value: String)] = [],
                        body: [UInt8]) -> Bool {
        guard let stream = liveStream(streamID), stream.delivered, !stream.discarding else { return false }
        return submitResponse(stream, status: status, headers: headers, body: body)
    }

    func submitResponse(_ stream: H2ServerStream, status: Int, headers: [(name: String, value: String)],
                        body: [UInt8]) -> Bool {
        guard !stream.responded, !aborted, (200...599).contains(status) else { return false }
        var contentType = "application/json"
        var extra: [(name: String, value: String)] = []
        for h in headers {
            let name = h.name.lowercased()
            if name == "content-type" { contentType = h.value; continue }
            if name.isEmpty || name.hasPrefix(":") || H2Fields.connectionSpecific.contains(name) { continue }
            extra.append((name, h.value))
        }
        let streamID = stream.id
        stream.responded = true
        deadlineEvents += 1
        stream.lastProgress = clock()
        stream.response = body
        stream.responseOffset = 0
        // The head's fields go straight into the nv array (`withResponseNV`: no array of them).
        let rv: Int32 = H2Fields.withResponseNV(status: status, contentType: contentType, contentLength: body.count,
                                                extra: extra) { nva, count in
            if body.isEmpty {
                return nghttp2_submit_response(session, streamID, nva, count, nil)
            }
            var provider = nghttp2_data_provider(
                source: nghttp2_data_source(ptr: nil),
                read_callback: { _, streamID, buf, length, flags, _, userData in
                    H2ServerSession.with(userData) { $0.readResponse(streamID, buf, length, flags) }
                })
            return nghttp2_submit_response(session, streamID, nva, count, &provider)
        }
        return rv == 0
    }

    /// Data provider: copies the next chunk of the stored body (at most what the windows and
    /// frame size allow, nghttp2 decides `length`), EOF on the last one.
    func readResponse(_ streamID: Int32, _ buf: UnsafeMutablePointer<UInt8>?, _ length: Int,
                      _ flags: UnsafeMutablePointer<UInt32>?) -> Int {
        guard let stream = liveStream(streamID), let buf, let flags else {
            return Int(H2Frame.temporalFailure)  // resets the stream; never fatal
        }
        let n = min(length, stream.response.count - stream.responseOffset)
        if n > 0 {
            stream.response.withUnsafeBufferPointer { src in
                buf.update(from: src.baseAddress! + stream.responseOffset, count: n)
            }
        }
        stream.responseOffset += n
        if n > 0 { stream.lastProgress = clock() }
        if stream.responseOffset >= stream.response.count {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            stream.response = []
        }
        return n
    }

    /// Answers a stream on the session's own behalf (413/431) and drops the rest of its request.
    /// No RST_STREAM after it: REFUSED_STREAM makes curl retry, and an immediate reset drops
    /// the queued response (docs/platform-notes.md); the leftover body is consumed and discarded.
    func answerLocally(_ stream: H2ServerStream, trip: H2StreamTrip) {
        guard let status = H2LocalResponse.status(for: trip) else {
            resetStream(stream, code: .protocolError, trip: trip)
            return
        }
        discard(stream)
        pending.append(.streamError(streamID: stream.id, code: .noError, trip: trip))
        _ = submitResponse(stream, status: status, headers: [], body: errorBody(trip))
    }

    /// Resets a stream for a stream-scoped problem the session found itself.
    func resetStream(_ stream: H2ServerStream, code: H2ErrorCode, trip: H2StreamTrip) {
        guard !stream.discarding else { return }
        discard(stream)
        pending.append(.streamError(streamID: stream.id, code: code, trip: trip))
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream.id, code.rawValue)
    }

    /// Runs a callback's work on the session behind `userData`, without the retain and
    /// release that taking the reference out would cost (a dozen callbacks per request): the
    /// session is alive for the whole callback, since nghttp2 calls back only from inside
    /// the session's own `receive`/`produce`/`respond` (and never after
    /// nghttp2_session_del); user_data is always the session (set in init).
    @inline(__always)
    static func with<R>(_ userData: UnsafeMutableRawPointer?, _ body: (H2ServerSession) -> R) -> R {
        Unmanaged<H2ServerSession>.fromOpaque(userData!)._withUnsafeGuaranteedRef(body)
    }
}
