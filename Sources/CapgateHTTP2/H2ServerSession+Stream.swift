import CNghttp2

/// Streamed responses (docs/design.md §5, `invoke_stream`): the head goes out at once, the body
/// as the application queues it. The data provider answers NGHTTP2_ERR_DEFERRED while nothing
/// is queued and `appendStreamData` resumes it, so no DATA frame waits on a timer; END_STREAM
/// follows the last byte once the application ends the stream.
extension H2ServerSession {
    /// Queues the head of a streamed response (no `content-length`; `content-type` as in
    /// `respond`). Returns false when the stream is gone or already answered.
    @discardableResult
    public func respondStreaming(streamID: Int32, status: Int, headers: [(name: String, value: String)] = [])
        -> Bool
    {
        guard let stream = liveStream(streamID), stream.delivered, !stream.discarding, !stream.responded, !aborted,
              (200...599).contains(status) else { return false }
        var contentType = "application/json"
        var fields: [(name: String, value: String)] = []
        for h in headers {
            let name = h.name.lowercased()
            if name == "content-type" { contentType = h.value; continue }
            if name.isEmpty || name.hasPrefix(":") || name == "content-length"
                || H2Fields.connectionSpecific.contains(name) { continue }
            fields.append((name, h.value))
        }
        fields = [(":status", String(status)), ("content-type", contentType)] + fields
        stream.responded = true
        deadlineEvents += 1
        stream.lastProgress = clock()
        stream.streaming = true
        stream.response = []
        stream.responseOffset = 0
        let rv: Int32 = H2Fields.withNV(fields) { nva, count in
            var provider = nghttp2_data_provider(
                source: nghttp2_data_source(ptr: nil),
                read_callback: { _, streamID, buf, length, flags, _, userData in
                    H2ServerSession.with(userData) { $0.readStreamed(streamID, buf, length, flags) }
                })
            return nghttp2_submit_response(session, stream.id, nva, count, &provider)
        }
        return rv == 0
    }

    /// Appends body bytes to a streamed response, and with `end` closes it after them.
    /// Returns false when the stream is gone (reset by the peer, closed): stop producing.
    @discardableResult
    public func appendStreamData(streamID: Int32, _ bytes: [UInt8], end: Bool) -> Bool {
        guard let stream = liveStream(streamID), stream.streaming, !stream.streamEnded, !aborted else { return false }
        if stream.responseOffset > 0 && stream.responseOffset >= stream.response.count / 2 {
            stream.response.removeFirst(stream.responseOffset)  // compact what nghttp2 took
            stream.responseOffset = 0
        }
        stream.response += bytes
        if end { stream.streamEnded = true }
        _ = nghttp2_session_resume_data(session, streamID)
        return true
    }

    /// Bytes of a streamed response nghttp2 has taken so far (cumulative), or nil when the
    /// stream is gone. The connection reports it to the producer for back-pressure.
    public func streamBytesSent(streamID: Int32) -> Int? {
        guard let stream = liveStream(streamID), stream.streaming else { return nil }
        return stream.streamSent
    }

    /// Data provider of a streamed response: what is queued (as much as the windows and frame
    /// size allow), DEFERRED when nothing is, EOF after the last byte of an ended stream.
    func readStreamed(_ streamID: Int32, _ buf: UnsafeMutablePointer<UInt8>?, _ length: Int,
                      _ flags: UnsafeMutablePointer<UInt32>?) -> Int {
        guard let stream = liveStream(streamID), let buf, let flags else {
            return Int(H2Frame.temporalFailure)
        }
        let available = stream.response.count - stream.responseOffset
        if available == 0 && !stream.streamEnded { return Int(NGHTTP2_ERR_DEFERRED.rawValue) }
        let n = min(length, available)
        if n > 0 {
            stream.response.withUnsafeBufferPointer { src in
                buf.update(from: src.baseAddress! + stream.responseOffset, count: n)
            }
        }
        stream.responseOffset += n
        stream.streamSent += n
        if n > 0 { stream.lastProgress = clock() }
        if stream.responseOffset >= stream.response.count {
            stream.response.removeAll(keepingCapacity: true)
            stream.responseOffset = 0
            if stream.streamEnded { flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue }
        }
        return n
    }
}
