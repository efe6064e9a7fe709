import CapgateConnection
import CapgateHTTP2
import CapgateIO
import CapgateTLS

/// The loop-side half of `HTTPClientConnection`: the HTTP/2 client session driving a
/// `ConnectionCore` (the same socket + TLS + pump the server runs on), confined to one event
/// loop thread. Requests submitted before the handshake completes wait in `queued`.
final class ClientCore: ConnectionDriver {
    /// Output is produced from HTTP/2 only while less than this is waiting for the socket.
    static let highWaterMark = 256 * 1024

    private let core: ConnectionCore
    private let session: H2ClientSession
    private weak var loop: EventLoop?
    private let ref: CoreRef
    /// Set once the connection ended; every later request fails with it.
    private var failure: HTTPClientError?
    private var queued: [(ClientRequest, ResponseContinuation)] = []
    private var waiting: [Int32: ResponseContinuation] = [:]
    /// Per-request deadline timers by stream id (requests still queued for the handshake
    /// are covered by the connect/handshake path).
    private var deadlines: [Int32: TimerID] = [:]
    /// How long a request may wait for its response; nil: forever.
    var requestTimeout: Duration?
    /// The SPIFFE ID the server's verified leaf must carry; nil: any (name checks only).
    var expectedPeerID: String?
    private var readyWaiters: [CheckedContinuation<HTTPClientError?, Never>] = []
    private var closeWaiters: [CheckedContinuation<HTTPClientError, Never>] = []
    /// The server's SETTINGS arrived (first plaintext read done): "ready" for waiters.
    private var sawServerBytes = false

    init(socket: Socket, engine: TLSEngine, session: H2ClientSession, loop: EventLoop, ref: CoreRef) {
        // No read pause at the high-water mark: see `ConnectionCore.pausesReadsAtHighWater`.
        self.core = ConnectionCore(socket: socket, engine: engine, loop: loop,
                                   highWaterMark: Self.highWaterMark, pausesReadsAtHighWater: false)
        self.session = session
        self.loop = loop
        self.ref = ref
        core.driver = self
    }

    private var handshakeDone: Bool { core.state == .established }

    /// Registers the socket and sends the ClientHello.
    func start() {
        do {
            try core.register()
        } catch {
            close(.io(error))
            return
        }
        core.begin()
    }

    // MARK: - Requests

    func submit(_ request: ClientRequest, _ continuation: ResponseContinuation) {
        if let failure {
            continuation.resume(returning: .failure(failure))
            return
        }
        guard handshakeDone else {
            queued.append((request, continuation))
            return
        }
        open(request, continuation)
        core.scheduleAfterIO()
    }

    func whenReady(_ continuation: CheckedContinuation<HTTPClientError?, Never>) {
        if let failure {
            continuation.resume(returning: failure)
        } else if handshakeDone && sawServerBytes {
            continuation.resume(returning: nil)
        } else {
            readyWaiters.append(continuation)
        }
    }

    func whenClosed(_ continuation: CheckedContinuation<HTTPClientError, Never>) {
        if let failure {
            continuation.resume(returning: failure)
        } else {
            closeWaiters.append(continuation)
        }
    }

    private func open(_ request: ClientRequest, _ continuation: ResponseContinuation) {
        guard let id = session.submitRequest(method: request.method, path: request.path,
                                             authority: request.authority, headers: request.headers,
                                             body: request.body, maxResponseBody: request.maxResponseBytes,
                                             sink: request.sink) else {
            continuation.resume(returning: .failure(.streamRefused))
            return
        }
        waiting[id] = continuation
        if let timeout = request.timeout ?? requestTimeout, let loop {
            // A server that never answers must not hang the caller: fail the request and
            // reset its stream when the deadline passes.
            deadlines[id] = loop.scheduleTimer(after: timeout) { [weak self] in self?.expire(id) }
        }
    }

    private func expire(_ id: Int32) {
        deadlines[id] = nil
        guard let continuation = waiting.removeValue(forKey: id) else { return }
        session.resetStream(id, code: .cancel)
        continuation.resume(returning: .failure(.timedOut))
        core.scheduleAfterIO()
    }

    /// The consumer of a streamed response stopped: RST_STREAM(CANCEL), and the request ends.
    func cancelStream(_ id: Int32) {
        guard let continuation = finish(id) else { return }
        session.resetStream(id, code: .cancel)
        continuation.resume(returning: .failure(.streamReset(.cancel)))
        core.scheduleAfterIO()
    }

    /// Removes a finished request's continuation and cancels its deadline.
    private func finish(_ id: Int32) -> ResponseContinuation? {
        if let timer = deadlines.removeValue(forKey: id) { loop?.cancelTimer(timer) }
        return waiting.removeValue(forKey: id)
    }

    // MARK: - ConnectionDriver

    func transportEstablished() -> Bool {
        if let expected = expectedPeerID {
            // Checked before any request leaves: a host with another identity never sees a
            // request body.
            let got: String
            do { got = try core.engine.peerIdentity().spiffeID.description } catch { got = "(\(error))" }
            if got != expected {
                close(.peerIdentityMismatch(got), flushFirst: true)
                return false
            }
        }
        let pending = queued
        queued = []
        for (request, continuation) in pending { open(request, continuation) }
        return true
    }

    /// Always true: the session itself ignores input once nghttp2 stops reading, and the
    /// client keeps decrypting so it sees the server's close_notify or EOF.
    var wantsInput: Bool { true }
    var wantsOutput: Bool { session.wantsWrite }
    var isFinished: Bool { session.isClosed }

    func receive(_ plaintext: UnsafeRawBufferPointer) {
        if !sawServerBytes { sawServerBytes = true }
        handle(session.receive(plaintext))
    }

    func produce(into buffer: inout [UInt8], max: Int) {
        handle(session.produce(into: &buffer, max: max))
    }

    func inputDrained() { resumeReadyWaiters() }

    func settled() {}

    func transportEnded(_ end: TransportEnd) {
        switch end {
        case .socketFailed(let error):
            close(.io(error))
        case .tlsFailed(let error, let alertQueued):
            close(.tls(error), flushFirst: alertQueued)
        case .closedDuringHandshake, .peerClosed, .hangup, .finished:
            close(.connectionClosed)
        }
    }

    private func handle(_ events: [H2ClientEvent]) {
        for event in events {
            switch event {
            case .response(let response):
                finish(response.streamID)?.resume(returning: .success(response))
            case .streamReset(let id, let code):
                finish(id)?.resume(returning: .failure(.streamReset(code)))
            case .goaway:
                break  // streams above the last id are reset by the session; new submits refused
            case .connectionError(let rv):
                close(.protocolError(rv))
            case .responseTooLarge(let id):
                finish(id)?.resume(returning: .failure(.responseTooLarge))
            }
        }
    }

    private func resumeReadyWaiters() {
        guard sawServerBytes, !readyWaiters.isEmpty else { return }
        let waiters = readyWaiters
        readyWaiters = []
        for w in waiters { w.resume(returning: nil) }
    }

    /// Ends the connection: fails every pending request with `error` (idempotent).
    /// `close()` by the user says goodbye with close_notify; `flushFirst` sends a queued TLS
    /// alert so the server learns why.
    func close(_ error: HTTPClientError, flushFirst: Bool = false) {
        guard failure == nil else { return }
        failure = error
        ref.closed.store(true, ordering: .releasing)
        core.close(notifyPeer: error == .closed, flushFirst: flushFirst)
        let pending = waiting.values + queued.map(\.1)
        waiting = [:]
        for timer in deadlines.values { loop?.cancelTimer(timer) }
        deadlines = [:]
        queued = []
        for continuation in pending { continuation.resume(returning: .failure(error)) }
        let waiters = readyWaiters
        readyWaiters = []
        for w in waiters { w.resume(returning: error) }
        let closeWaiters = self.closeWaiters
        self.closeWaiters = []
        for w in closeWaiters { w.resume(returning: error) }
    }
}
