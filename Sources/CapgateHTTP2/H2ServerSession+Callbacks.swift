import CNghttp2

/// nghttp2 callbacks: every limit the library leaves to the server is enforced here
/// (docs/hardening.md). Callbacks are capture-free `@convention(c)` closures that find the session
/// through `user_data`.
extension H2ServerSession {
    static func install(_ cbs: OpaquePointer) {
        nghttp2_session_callbacks_set_send_callback(cbs) { _, data, length, _, ud in
            H2ServerSession.with(ud) { $0.acceptOutput(data, length) }
        }
        nghttp2_session_callbacks_set_on_begin_frame_callback(cbs) { _, hd, ud in
            guard let hd else { return 0 }
            return H2ServerSession.with(ud) { $0.onBeginFrame(hd.pointee) }
        }
        nghttp2_session_callbacks_set_on_begin_headers_callback(cbs) { _, frame, ud in
            guard let frame else { return 0 }
            return H2ServerSession.with(ud) { $0.onBeginHeaders(frame.pointee) }
        }
        nghttp2_session_callbacks_set_on_header_callback(cbs) { _, frame, name, nlen, value, vlen, _, ud in
            guard let frame else { return 0 }
            return H2ServerSession.with(ud) { $0.onHeader(frame.pointee, name, nlen, value, vlen) }
        }
        // Fields nghttp2 drops as invalid (empty or bad names) never reach on_header; they
        // still cost decoding, so they are counted here. Returning 0 keeps the library's
        // default for them (the field is ignored).
        nghttp2_session_callbacks_set_on_invalid_header_callback(cbs) { _, _, _, nlen, _, vlen, _, ud in
            H2ServerSession.with(ud) { $0.onInvalidHeader(nlen, vlen) }
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(cbs) { _, frame, ud in
            guard let frame else { return 0 }
            return H2ServerSession.with(ud) { $0.onFrameRecv(frame.pointee) }
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs) { _, _, streamID, data, len, ud in
            H2ServerSession.with(ud) { $0.onDataChunk(streamID, data, len) }
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(cbs) { _, streamID, code, ud in
            H2ServerSession.with(ud) { $0.onStreamClose(streamID, code) }
            return 0  // never fatal from on_stream_close: CVE-2023-35945 leak path
        }
        nghttp2_session_callbacks_set_on_frame_send_callback(cbs) { _, frame, ud in
            guard let frame else { return 0 }
            H2ServerSession.with(ud) { $0.onFrameSend(frame.pointee) }
            return 0  // a trip here queues GOAWAY; sending must go on to flush it
        }
        nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs) { _, _, _, ud in
            (H2ServerSession.with(ud) { $0.glitch() }) ? 0 : H2Frame.callbackFailure
        }
    }

    /// send_callback: copy into the caller's buffer up to its high-water, then WOULDBLOCK so
    /// nghttp2 keeps the rest (it supports partial writes).
    func acceptOutput(_ data: UnsafePointer<UInt8>?, _ length: Int) -> Int {
        let room = outMax - outBuffer.count
        guard room > 0, let data else { return H2Frame.wouldBlock }
        let n = min(room, length)
        outBuffer.append(contentsOf: UnsafeBufferPointer(start: data, count: n))
        return n
    }

    /// Frame headers, CONTINUATION included (the only place they are visible): empty frames
    /// (CVE-2019-9518) are glitches; CONTINUATIONs per block are capped (CVE-2024-28182).
    func onBeginFrame(_ hd: nghttp2_frame_hd) -> Int32 {
        let endStream = hd.flags & H2Frame.endStream != 0
        switch hd.type {
        case H2Frame.headers:
            continuationsInBlock = 0
            fieldsInBlock = 0
            bytesInBlock = 0
            if hd.length == 0 && !endStream && !glitch() { return H2Frame.callbackFailure }
        case H2Frame.continuation:
            continuationsInBlock += 1
            if continuationsInBlock > limits.maxContinuations {
                tripConnection(.continuationFlood, code: .enhanceYourCalm)
                return H2Frame.callbackFailure
            }
            if hd.length == 0 && !glitch() { return H2Frame.callbackFailure }
        case H2Frame.data:
            if hd.length == 0 && !endStream && !glitch() { return H2Frame.callbackFailure }
        default:
            break
        }
        return 0
    }

    func onBeginHeaders(_ frame: nghttp2_frame) -> Int32 {
        guard frame.hd.type == H2Frame.headers, frame.headers.cat == NGHTTP2_HCAT_REQUEST else { return 0 }
        let id = frame.hd.stream_id
        totalStreams += 1
        deadlineEvents += 1
        let stream = H2ServerStream(id: id, openedAt: clock())
        addStream(stream)
        if totalStreams > limits.maxStreamsPerConnection || (drainLastStreamID.map { id > $0 } ?? false) {
            // The peer ignored our GOAWAY (or raced it): refuse, the request was not processed
            // and may be retried on a new connection (RFC 9113 §8.7).
            stream.refused = true
            resetStream(stream, code: .refusedStream, trip: .streamLimit)
        } else if totalStreams == limits.maxStreamsPerConnection && !draining {
            // Last stream of this connection: serve it, then drain (nginx keepalive_requests).
            drain(lastStreamID: id)
        }
        return 0
    }

    /// Header limits ENFORCED on the decoded list (nghttp2 1.52 only advertises
    /// MAX_HEADER_LIST_SIZE): HPACK bomb CVE-2016-6581, 0-length headers CVE-2019-9516.
    func onHeader(_ frame: nghttp2_frame, _ name: UnsafePointer<UInt8>?, _ nlen: Int,
                  _ value: UnsafePointer<UInt8>?, _ vlen: Int) -> Int32 {
        guard countBlockField(nlen, vlen) else { return H2Frame.callbackFailure }
        guard let stream = liveStream(frame.hd.stream_id), !stream.discarding,
              stream.headerTrip == nil else { return 0 }  // keep decoding (HPACK sync), drop
        stream.fieldCount += 1
        stream.listBytes += nlen + vlen + 32  // RFC 9113 §6.5.2 accounting
        if stream.fieldCount > limits.maxHeaderFields {
            stream.headerTrip = .tooManyHeaderFields
            stream.headers = []
            stream.repeatedFields = -1
            return 0
        }
        if stream.listBytes > limits.maxHeaderListBytes {
            stream.headerTrip = .headerListTooLarge
            stream.headers = []
            stream.repeatedFields = -1
            return 0
        }
        guard frame.headers.cat == NGHTTP2_HCAT_REQUEST else { return 0 }  // trailers: counted only
        // Names are compared as bytes: nghttp2 passes only valid names here (lowercase ASCII
        // tokens, `:` only in the pseudo-headers it knows), so bytes and Strings agree, and
        // the pseudo-headers never become Strings (this callback was a tenth of the CPU).
        guard let name, nlen > 0, name[0] == UInt8(ascii: ":") else {
            regularField(stream, name, nlen, value, vlen)
            return 0
        }
        let val = H2Fields.fieldValue(value, vlen)
        if H2Fields.equal(name, nlen, ":method") {
            stream.method = val
        } else if H2Fields.equal(name, nlen, ":path") {
            stream.path = val
        } else if H2Fields.equal(name, nlen, ":scheme") {
            stream.scheme = val
        } else if H2Fields.equal(name, nlen, ":authority") {
            stream.authority = val
        }
        return 0  // nghttp2 already rejects unknown pseudo-headers
    }

    /// A regular (not pseudo) field of a request's header block. A client sends the same
    /// fields with every request (HPACK exists because of it), so while the block repeats the
    /// previous request's fields in order (`H2ServerStream.repeatedFields`), their Strings
    /// are that request's, taken when the block ends (`settleRequestFields`): no String and
    /// no array is made for them. The first field that differs makes the list as before.
    func regularField(_ stream: H2ServerStream, _ name: UnsafePointer<UInt8>?, _ nlen: Int,
                      _ value: UnsafePointer<UInt8>?, _ vlen: Int) {
        let val: String
        if stream.repeatedFields >= 0, stream.repeatedFields < lastRequestFields.count,
           H2Fields.equal(name, nlen, lastRequestFields[stream.repeatedFields].name),
           H2Fields.equal(value, vlen, lastRequestFields[stream.repeatedFields].value) {
            val = lastRequestFields[stream.repeatedFields].value
            stream.repeatedFields += 1
        } else {
            val = H2Fields.fieldValue(value, vlen)
            if stream.repeatedFields >= 0 {
                // One allocation for a typical request's fields instead of growing 1, 2, 4.
                stream.headers.reserveCapacity(max(8, stream.repeatedFields + 1))
                stream.headers.append(contentsOf: lastRequestFields[0..<stream.repeatedFields])
                stream.repeatedFields = -1
            }
            stream.headers.append((H2Fields.string(name, nlen), val))
        }
        if let name {
            if H2Fields.equal(name, nlen, "content-type") {
                stream.contentType = val
            } else if H2Fields.equal(name, nlen, "host") {
                stream.host = val
            } else if H2Fields.equal(name, nlen, "content-length") {
                stream.contentLength = Int(val) ?? Int.max  // nghttp2 validated the digits
            }
        }
    }

    /// The request's header block ended: the repeated prefix becomes its field list (the
    /// previous request's own array when every field repeated), and the list is the one the
    /// next request is compared with, unless its block passed `repeatedFieldsMaxBytes`
    /// (an idle connection keeps this list: it must stay small).
    func settleRequestFields(_ stream: H2ServerStream) {
        if stream.repeatedFields >= 0 {
            if stream.repeatedFields < lastRequestFields.count {
                stream.headers = Array(lastRequestFields[0..<stream.repeatedFields])
            } else {
                stream.headers = lastRequestFields
            }
            stream.repeatedFields = -1
        }
        lastRequestFields = stream.listBytes <= Self.repeatedFieldsMaxBytes ? stream.headers : []
    }

    /// The largest header block (RFC 9113 §6.5.2 bytes, pseudo-headers included) whose fields
    /// a connection keeps for the next request: an agent's few fields, never a large list
    /// held by every idle connection.
    static let repeatedFieldsMaxBytes = 1024

    /// A field nghttp2 found invalid and is about to drop: counted toward the block's budget only.
    func onInvalidHeader(_ nlen: Int, _ vlen: Int) -> Int32 {
        countBlockField(nlen, vlen) ? 0 : H2Frame.callbackFailure
    }

    func onFrameRecv(_ frame: nghttp2_frame) -> Int32 {
        let id = frame.hd.stream_id
        let endStream = frame.hd.flags & H2Frame.endStream != 0
        switch frame.hd.type {
        case H2Frame.headers:
            guard let stream = liveStream(id), !stream.discarding else { break }
            if let trip = stream.headerTrip {
                answerLocally(stream, trip: trip)
                break
            }
            if frame.headers.cat == NGHTTP2_HCAT_REQUEST {
                settleRequestFields(stream)
                if stream.method.isEmpty || stream.path.isEmpty || stream.scheme.isEmpty {
                    resetStream(stream, code: .protocolError, trip: .malformedRequest)  // §8.3.1
                    break
                }
                stream.bodyLimit = limits.maxBodyBytes(forPath: stream.path, routes: routeBodyCaps)
                if let declared = stream.contentLength, declared > stream.bodyLimit {
                    answerLocally(stream, trip: .bodyTooLarge(limit: stream.bodyLimit))  // early 413
                    break
                }
                // A body follows: no credit for it until the stream is admitted to the budgets.
                if !endStream { requestBodyExpected(stream) }
            }
            if endStream { deliver(stream) }
        case H2Frame.data:
            // Padding-only DATA dodges the zero-length check of on_begin_frame (its length
            // counts the padding): the same empty frame, the same glitch (CVE-2019-9518).
            if !endStream && frame.hd.length > 0 && frame.hd.length == frame.data.padlen && !glitch() {
                return H2Frame.callbackFailure
            }
            if endStream, let stream = liveStream(id), !stream.discarding { deliver(stream) }
        case H2Frame.rstStream:
            // Rapid Reset (CVE-2023-44487): our bucket runs on the injected clock.
            if !resetBucket.take(now: clock()) {
                tripConnection(.resetFlood, code: .enhanceYourCalm)
                return H2Frame.callbackFailure
            }
        case H2Frame.goaway:
            pending.append(.goaway(lastStreamID: frame.goaway.last_stream_id,
                                   code: H2ErrorCode(rawValue: frame.goaway.error_code)))
        default:
            break
        }
        return checkOutboundQueue() ? 0 : H2Frame.callbackFailure
    }

    /// DATA payload: enforce the path's body cap while receiving (early 413), then keep it and
    /// let the body budgets decide when it is credited (windows reopen only on consume,
    /// no_auto_window_update; +BodyBudget). Discarded bytes are consumed at once, or the
    /// connection window would shrink for good.
    func onDataChunk(_ streamID: Int32, _ data: UnsafePointer<UInt8>?, _ len: Int) -> Int32 {
        guard let stream = liveStream(streamID), !stream.discarding, let data else {
            _ = nghttp2_session_consume(session, streamID, len)
            return 0
        }
        if stream.body.count + len > stream.bodyLimit {
            _ = nghttp2_session_consume(session, streamID, len)
            answerLocally(stream, trip: .bodyTooLarge(limit: stream.bodyLimit))
            return 0
        }
        stream.body.append(contentsOf: UnsafeBufferPointer(start: data, count: len))
        bodyBytesArrived(stream, len)
        return 0
    }

    func onStreamClose(_ streamID: Int32, _ code: UInt32) {
        if let stream = liveStream(streamID) { settleBody(stream) }
        if removeStream(streamID) != nil {
            pending.append(.streamClosed(streamID: streamID, code: H2ErrorCode(rawValue: code)))
        }
    }

    /// Server-sent RST_STREAM frames are glitches (MadeYouReset, CVE-2025-8671); a GOAWAY with
    /// an error the session did not choose means nghttp2 found a connection error.
    func onFrameSend(_ frame: nghttp2_frame) {
        switch frame.hd.type {
        case H2Frame.rstStream:
            let id = frame.hd.stream_id
            if let stream = liveStream(id), !stream.discarding {
                discard(stream)
                pending.append(.streamError(streamID: id, code: H2ErrorCode(rawValue: frame.rst_stream.error_code),
                                            trip: .protocolReset))
            }
            _ = glitch()
        case H2Frame.data:
            // Data dribble (CVE-2019-9511): a small frame while more of the response is ready
            // was cut short by the peer's window, not by us; a peer that keeps windows tiny
            // spends the glitch budget. The body's last frame is small legitimately.
            let id = frame.hd.stream_id
            if frame.hd.length < limits.smallDataFrameBytes, frame.hd.flags & H2Frame.endStream == 0,
               let stream = liveStream(id), stream.response.count > stream.responseOffset
            {
                _ = glitch()
            }
        case H2Frame.goaway:
            let code = frame.goaway.error_code
            if code != H2ErrorCode.noError.rawValue && connectionTrip == nil {
                inputClosed = true
                let trip = H2ConnectionTrip.protocolError(H2ErrorCode(rawValue: code))
                connectionTrip = trip
                pending.append(.connectionError(trip))
            }
        default:
            break
        }
    }

    /// Hands a complete, within-limits request to the application.
    func deliver(_ stream: H2ServerStream) {
        guard !stream.delivered else { return }
        stream.delivered = true
        let body = stream.body
        stream.body = []
        settleBody(stream)  // handed off: the reservation goes, the credit comes back
        pending.append(.request(H2Request(
            streamID: stream.id, method: stream.method, path: stream.path, scheme: stream.scheme,
            authority: stream.authority.isEmpty ? (stream.host ?? "") : stream.authority,
            contentType: stream.contentType, headers: stream.headers, body: body)))
    }
}
