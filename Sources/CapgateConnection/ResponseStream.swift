import CapgateIO
import Synchronization

/// The stream was reset by the peer or its connection closed: stop producing.
public struct ResponseStreamClosed: Error, Sendable {}

/// How a handler answers one request: either one whole `respond`, or a streamed answer
/// (`begin`, `write`..., `end`; docs/design.md §5). Thread-safe; the handler's task calls it,
/// and every call is posted to the connection's loop, which owns the HTTP/2 session.
///
/// Back-pressure: `write` returns at once while the bytes written but not yet taken by HTTP/2
/// stay within the write high-water mark; past it, it waits until the loop reports that the
/// peer's flow-control window let them out. A reader that stops reading therefore stalls the
/// producer instead of growing our memory (CVE-2019-9517). When the peer resets the stream
/// (RST_STREAM) the handler task is cancelled and any waiting `write` throws.
public final class ResponseStream: Sendable {
    private struct State {
        var answered = false
        var ended = false
        var closed = false
        var posted = 0
        var sent = 0
        var waiter: CheckedContinuation<Void, any Error>?
    }
    private let state = Mutex(State())
    private let loop: EventLoopHandle
    private let context: LoopContext
    private let connectionID: UInt64
    let streamID: Int32
    /// Bytes that may wait for the peer before `write` blocks.
    public let highWaterBytes: Int

    init(loop: EventLoopHandle, context: LoopContext, connectionID: UInt64, streamID: Int32, highWaterBytes: Int) {
        self.loop = loop
        self.context = context
        self.connectionID = connectionID
        self.streamID = streamID
        self.highWaterBytes = max(1, highWaterBytes)
    }

    /// Whole answer (the ordinary path). Ignored after `begin` or a previous answer.
    public func respond(_ response: HTTPResponse) {
        guard claimAnswer() else { return }
        let (context, id, streamID) = (self.context, connectionID, self.streamID)
        // A handler running on its connection's loop (LoopTaskExecutor, the usual case) is a
        // task of that loop, never inside an nghttp2 callback: it queues the answer in place,
        // without a closure, a lock and a trip through the loop's task queue per request.
        // The flush still waits for the end of the loop iteration (`complete`).
        if loop.inEventLoop {
            context.connection(id)?.complete(streamID: streamID, response: response)
            return
        }
        post { _ in context.connection(id)?.complete(streamID: streamID, response: response) }
    }

    /// Sends the head of a streamed answer (no content-length). Ignored after an answer.
    public func begin(status: Int, headers: [(name: String, value: String)] = []) {
        guard claimAnswer() else { return }
        let (context, id) = (self.context, connectionID)
        post { [self] _ in context.connection(id)?.beginStream(self, status: status, headers: headers) }
    }

    /// Queues body bytes of a streamed answer; waits while too much is queued.
    /// Throws `ResponseStreamClosed` once the stream is gone, `CancellationError` if the task
    /// is cancelled while waiting.
    public func write(_ bytes: [UInt8]) async throws {
        let mustWait: Bool = try state.withLock { s in
            if s.closed || s.ended { throw ResponseStreamClosed() }
            s.posted += bytes.count
            return s.posted - s.sent > highWaterBytes
        }
        let (context, id, streamID) = (self.context, connectionID, self.streamID)
        post { [self] _ in
            if context.connection(id)?.appendStream(streamID, bytes, end: false) != true { close() }
        }
        if mustWait { try await waitForRoom() }
    }

    /// Ends a streamed answer after the bytes already written (END_STREAM).
    public func end() {
        let first = state.withLock { s in
            defer { s.ended = true }
            return !s.ended && !s.closed
        }
        guard first else { return }
        let (context, id, streamID) = (self.context, connectionID, self.streamID)
        post { _ in _ = context.connection(id)?.appendStream(streamID, [], end: true) }
    }

    /// Bytes written and not yet taken by HTTP/2 (for tests and metrics).
    public var queuedBytes: Int { state.withLock { $0.posted - $0.sent } }

    // MARK: - Loop side

    /// The loop's report: HTTP/2 has taken `sent` bytes in total.
    func progress(sent: Int) {
        let waiter: CheckedContinuation<Void, any Error>? = state.withLock { s in
            s.sent = max(s.sent, sent)
            guard s.posted - s.sent <= highWaterBytes else { return nil }
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    /// The stream or its connection is gone.
    func close() {
        let waiter: CheckedContinuation<Void, any Error>? = state.withLock { s in
            s.closed = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(throwing: ResponseStreamClosed())
    }

    // MARK: - Private

    private func claimAnswer() -> Bool {
        state.withLock { s in
            defer { s.answered = true }
            return !s.answered
        }
    }

    private func post(_ task: @escaping EventLoopHandle.Task) {
        if !loop.execute(task) { close() }
    }

    private func waitForRoom() async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let ready: Result<Void, any Error>? = state.withLock { s in
                    if s.closed { return .failure(ResponseStreamClosed()) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if s.posted - s.sent <= highWaterBytes { return .success(()) }
                    s.waiter = c
                    return nil
                }
                if let ready { c.resume(with: ready) }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Void, any Error>? = state.withLock { s in
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }
}

extension RequestHandler {
    /// Handlers that never stream answer with one whole response.
    public func handle(_ request: HTTPRequest, peer: PeerInfo, responder: ResponseStream) async {
        responder.respond(await handle(request, peer: peer))
    }
}
