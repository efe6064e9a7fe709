import CapgateHTTP2
import Synchronization

/// What a streamed response delivers, in order: its head once, then body bytes as they arrive.
public enum HTTPClientStreamEvent: Sendable {
    case head(status: Int, headers: [(name: String, value: String)])
    case data([UInt8])
}

extension HTTPClientConnection {
    /// Sends one request and yields its response as it arrives (NDJSON streams: `invoke_stream`,
    /// a driver host's `execute_stream`). The sequence ends with the stream's END_STREAM, throws
    /// the `HTTPClientError` that ended it otherwise, and when the consumer stops iterating (or
    /// its task is cancelled) the stream is reset with RST_STREAM(CANCEL), which is how the
    /// server learns to stop producing.
    ///
    /// `timeout` bounds the whole stream (default: one day, a backstop; a stream's liveness is
    /// the consumer's business). Nothing is buffered beyond what the consumer has not read yet.
    public func stream(method: String = "POST", path: String, headers: [(name: String, value: String)] = [],
                       body: [UInt8] = [], timeout: Duration = .seconds(86_400))
        -> AsyncThrowingStream<HTTPClientStreamEvent, any Error>
    {
        let (events, continuation) = AsyncThrowingStream<HTTPClientStreamEvent, any Error>.makeStream()
        let sink = StreamSink(continuation)
        let request = ClientRequest(method: method, path: path, authority: authority, headers: headers, body: body,
                                    timeout: timeout, maxResponseBytes: nil, sink: sink)
        let ref = self.ref, handle = self.handle
        continuation.onTermination = { termination in
            guard case .cancelled = termination else { return }
            // Not opened yet (still queued for the handshake): `opened` resets it on arrival.
            guard let id = sink.cancel() else { return }
            handle.execute { _ in ref.core?.cancelStream(id) }
        }
        Task {
            let result = await withCheckedContinuation { (c: ResponseContinuation) in
                let posted = handle.execute { _ in
                    if let core = ref.core { core.submit(request, c) } else { c.resume(returning: .failure(.closed)) }
                }
                if !posted { c.resume(returning: .failure(.closed)) }
            }
            switch result {
            case .success(let response):
                // A response without a body: its head came with END_STREAM.
                sink.headIfMissing(status: response.status, headers: response.headers)
                continuation.finish()
            case .failure(let error):
                continuation.finish(throwing: error)
            }
        }
        return events
    }
}

/// Forwards a stream's head and DATA to the consumer's sequence (on the loop thread).
final class StreamSink: H2ResponseSink {
    private let continuation: AsyncThrowingStream<HTTPClientStreamEvent, any Error>.Continuation
    private let state = Mutex<(id: Int32?, headSent: Bool, cancelled: Bool)>((nil, false, false))

    init(_ continuation: AsyncThrowingStream<HTTPClientStreamEvent, any Error>.Continuation) {
        self.continuation = continuation
    }

    /// Marks the consumer gone; the stream id when the request is already open.
    func cancel() -> Int32? {
        state.withLock { s in
            s.cancelled = true
            return s.id
        }
    }

    func opened(streamID: Int32) -> Bool {
        state.withLock { s in
            s.id = streamID
            return !s.cancelled
        }
    }

    func head(status: Int, headers: [(name: String, value: String)]) {
        state.withLock { $0.headSent = true }
        continuation.yield(.head(status: status, headers: headers))
    }

    func headIfMissing(status: Int, headers: [(name: String, value: String)]) {
        let missing = state.withLock { s in
            defer { s.headSent = true }
            return !s.headSent
        }
        if missing { continuation.yield(.head(status: status, headers: headers)) }
    }

    func data(_ bytes: [UInt8]) { continuation.yield(.data(bytes)) }
}
