import CapgateHTTP2
import CapgateIO
import CapgateTLS

/// The loop-side half of `HTTPClientConnection`: socket + TLS engine + HTTP/2 client
/// session, confined to one event loop thread (edge-triggered; platform.md "Edge-triggered
/// epoll with TLS"). Requests submitted before the handshake completes wait in `queued`.
final class ClientCore: EventHandler {
    /// Output is produced from HTTP/2 only while less than this is waiting for the socket.
    static let highWaterMark = 256 * 1024

    private let socket: Socket
    private let engine: TLSEngine
    private let session: H2ClientSession
    private weak var loop: EventLoop?
    private let ref: CoreRef
    private var outbound = OutboundBuffer(highWaterMark: ClientCore.highWaterMark)
    private var plaintextOut: [UInt8] = []
    private var ciphertextOut: [UInt8] = []
    private var handshakeDone = false
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
    private var outputScheduled = false
    /// The server's SETTINGS arrived (first plaintext read done): "ready" for waiters.
    private var sawServerBytes = false

    init(socket: Socket, engine: TLSEngine, session: H2ClientSession, loop: EventLoop, ref: CoreRef) {
        self.socket = socket
        self.engine = engine
        self.session = session
        self.loop = loop
        self.ref = ref
    }

    /// Registers the socket and sends the ClientHello.
    func start() {
        do {
            try loop?.register(socket.descriptor, interest: .all, handler: self)
        } catch {
            close(.io(error))
            return
        }
        advanceHandshake()
        flush()
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
        scheduleOutput()
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
                                             body: request.body, maxResponseBody: request.maxResponseBytes) else {
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
        scheduleOutput()
    }

    /// Removes a finished request's continuation and cancels its deadline.
    private func finish(_ id: Int32) -> ResponseContinuation? {
        if let timer = deadlines.removeValue(forKey: id) { loop?.cancelTimer(timer) }
        return waiting.removeValue(forKey: id)
    }

    /// Submissions posted in one loop iteration leave in one produce/encrypt/write round.
    private func scheduleOutput() {
        guard !outputScheduled, let loop else { return }
        outputScheduled = true
        loop.executeLater { [weak self] in
            guard let self else { return }
            self.outputScheduled = false
            self.afterIO()
        }
    }

    // MARK: - EventHandler

    func readable() {
        guard failure == nil, let loop else { return }
        let buffer = loop.readBuffer
        while failure == nil {
            let result: IOResult<Int>
            do {
                result = try socket.read(into: buffer)
            } catch {
                close(.io(error))
                return
            }
            switch result {
            case .wouldBlock:
                afterIO()
                return
            case .processed(0):
                engine.markEndOfInput()
                processInput()
                close(.connectionClosed)
                return
            case .processed(let n):
                do {
                    try engine.feed(ciphertext: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                } catch {
                    close(.tls(error))
                    return
                }
                processInput()
            }
        }
    }

    func writable() {
        guard failure == nil else { return }
        flush()
        afterIO()
    }

    func hangup() { close(.connectionClosed) }

    // MARK: - Pumping

    private func advanceHandshake() {
        guard !handshakeDone, failure == nil else { return }
        switch engine.handshake() {
        case .wantIO:
            drainTLS()
        case .failed(let error):
            drainTLS()
            flush()
            close(.tls(error))
        case .done:
            drainTLS()
            if let expected = expectedPeerID {
                // Checked before any request leaves: a host with another identity never
                // sees a request body.
                let got: String
                do { got = try engine.peerIdentity().spiffeID.description } catch { got = "(\(error))" }
                if got != expected {
                    flush()
                    close(.peerIdentityMismatch(got))
                    return
                }
            }
            handshakeDone = true
            let pending = queued
            queued = []
            for (request, continuation) in pending { open(request, continuation) }
        }
    }

    private func processInput() {
        guard let loop else { return }
        advanceHandshake()
        guard handshakeDone, failure == nil else { return }
        let buffer = loop.readBuffer
        while failure == nil {
            switch engine.readPlaintext(into: buffer) {
            case .bytes(let n):
                if !sawServerBytes { sawServerBytes = true }
                handle(session.receive(UnsafeRawBufferPointer(rebasing: buffer[0..<n])))
            case .wantRead:
                drainTLS()
                resumeReadyWaiters()
                return
            case .closed:
                close(.connectionClosed)
                return
            case .error(let error):
                close(.tls(error))
                return
            }
        }
    }

    /// Produce and flush until HTTP/2 has nothing more to send or the socket pushes back.
    /// WHY the outer loop: production stops at the high-water mark; when `flush` then
    /// empties `outbound` the socket never became unwritable, so no edge-triggered EPOLLOUT
    /// would come to resume a large request body.
    private func afterIO() {
        guard failure == nil, handshakeDone else { return }
        while produceOutput(), failure == nil, outbound.isEmpty, session.wantsWrite {}
        if failure == nil, session.isClosed, outbound.isEmpty { close(.connectionClosed) }
    }

    /// One round of HTTP/2 -> TLS -> `outbound` up to the high-water mark, then a flush.
    /// Returns whether anything was produced.
    private func produceOutput() -> Bool {
        var produced = false
        while session.wantsWrite, !outbound.isAboveHighWaterMark {
            plaintextOut.removeAll(keepingCapacity: true)
            let events = session.produce(into: &plaintextOut, max: Self.highWaterMark - outbound.count)
            if !plaintextOut.isEmpty {
                do {
                    _ = try engine.writePlaintext(plaintextOut)
                } catch {
                    close(.tls(error))
                    return false
                }
                drainTLS()
                produced = true
            }
            handle(events)
            if plaintextOut.isEmpty || failure != nil { break }
        }
        flush()
        return produced
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

    private func drainTLS() {
        guard engine.pendingCiphertextCount > 0 else { return }
        ciphertextOut.removeAll(keepingCapacity: true)
        engine.drainCiphertext(into: &ciphertextOut)
        outbound.append(contentsOf: ciphertextOut)
    }

    private func flush() {
        guard !outbound.isEmpty, socket.isOpen else { return }
        do {
            _ = try outbound.flush(to: socket)
        } catch {
            close(.io(error))
        }
    }

    private func resumeReadyWaiters() {
        guard sawServerBytes, !readyWaiters.isEmpty else { return }
        let waiters = readyWaiters
        readyWaiters = []
        for w in waiters { w.resume(returning: nil) }
    }

    /// Ends the connection: fails every pending request with `error` (idempotent).
    func close(_ error: HTTPClientError) {
        guard failure == nil else { return }
        failure = error
        ref.closed.store(true, ordering: .releasing)
        if socket.isOpen {
            if error == .closed {
                engine.shutdown()
                drainTLS()
                _ = try? outbound.flush(to: socket)
            }
            loop?.deregister(socket.descriptor)
            socket.close()
        }
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
