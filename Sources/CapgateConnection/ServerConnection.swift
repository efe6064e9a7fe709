import CapgateCore
import CapgateHTTP2
import CapgateIO
import CapgateTLS
import Glibc

/// One accepted TCP connection: Socket + TLSEngine + H2ServerSession, confined to the loop it
/// was handed to (no locks; other threads reach it only through `LoopContext` inside a task
/// that loop runs).
///
/// Data path (platform.md "Edge-triggered epoll with TLS"): `readable()` reads the socket
/// until EAGAIN, feeds TLS, reads plaintext until WANT_READ and feeds HTTP/2; requests go to
/// the handler in a Task; output is produced from HTTP/2 into TLS into the `OutboundBuffer`
/// only while it is below the write high-water mark (CVE-2019-9517), and the socket is not
/// read while it is above it. EPOLLOUT stays armed, so `writable()` resumes both.
///
/// Fail closed: the first hard error (socket, TLS, identity) closes the connection; an
/// identity that breaks the SPIFFE X509-SVID rules never gets an HTTP/2 session.
final class ServerConnection: EventHandler {
    enum Phase { case handshaking, serving, closed }

    let id: UInt64
    let socket: Socket
    let engine: TLSEngine
    weak var loop: EventLoop?
    let context: LoopContext
    let shared: ServerShared
    let remoteAddress: String
    let ip: String
    let permit: ConnectionPermit
    let openedAt = Deadline.now()

    var phase = Phase.handshaking
    var session: H2ServerSession?
    var peer: PeerInfo?
    var outbound: OutboundBuffer
    /// HTTP/2 output for one `produce` round (reused, keeps its capacity).
    var plaintextOut: [UInt8] = []
    /// TLS output before it joins `outbound` (reused).
    var ciphertextOut: [UInt8] = []
    /// Reading stopped because `outbound` passed the high-water mark.
    var readPaused = false
    var inputEOF = false
    /// Why the connection will end once HTTP/2 is done (GOAWAY sent, trip, timeout).
    var endReason: String?
    /// A flush of responses is queued for the end of this loop iteration (batching).
    var outputScheduled = false
    /// Handler work per stream, cancelled when the stream or the connection goes away.
    var inFlight: [Int32: Task<Void, Never>] = [:]
    var requestsServed = 0

    // Timers (all on this loop; cancelled in `close`).
    var handshakeTimer: TimerID?
    var firstRequestTimer: TimerID?
    var idleTimer: TimerID?
    var idleSince: Deadline?
    var requestTimer: TimerID?
    var streamsSeenByRequestTimer = 0
    var ageTimer: TimerID?
    var drainTimer: TimerID?

    init(id: UInt64, socket: Socket, engine: TLSEngine, loop: EventLoop, context: LoopContext,
         shared: ServerShared, remoteAddress: String, ip: String, permit: ConnectionPermit) {
        self.id = id
        self.socket = socket
        self.engine = engine
        self.loop = loop
        self.context = context
        self.shared = shared
        self.remoteAddress = remoteAddress
        self.ip = ip
        self.permit = permit
        self.outbound = OutboundBuffer(highWaterMark: shared.limits.writeHighWaterBytes)
    }

    var limits: GatewayLimits { shared.limits }

    /// Registers the fd (both directions, edge-triggered) and arms the handshake and
    /// connection-age timers. Bytes already queued are reported by the registration's first
    /// edge, but reading now costs nothing and removes the doubt.
    func start() throws(IOError) {
        guard let loop else { throw IOError(errno: ESHUTDOWN, call: "ServerConnection.start") }
        try loop.register(socket.descriptor, interest: .all, handler: self)
        context.add(self)
        handshakeTimer = loop.scheduleTimer(after: .seconds(limits.handshakeTimeout)) { [weak self] in
            self?.handshakeTimedOut()
        }
        ageTimer = loop.scheduleTimer(after: .seconds(limits.maxConnectionAge)) { [weak self] in
            self?.beginDrain(reason: "max_connection_age")
        }
        readable()
    }

    // MARK: - EventHandler

    func readable() {
        guard phase != .closed else { return }
        readPaused = false
        readSocket()
        afterIO()
    }

    func writable() {
        guard phase != .closed else { return }
        flush()
        pumpOutput()
        if readPaused, !outbound.isAboveHighWaterMark, phase != .closed {
            readPaused = false
            readSocket()
        }
        afterIO()
    }

    func hangup() {
        let stopped = shared.stopping.load(ordering: .acquiring)
        close(reason: stopped ? "server_stopped" : "peer_reset", notifyPeer: stopped)
    }

    // MARK: - Input

    /// Reads until EAGAIN (edge-triggered), or until the output backlog passes the high-water
    /// mark: then the peer's bytes stay in the kernel, its TCP window closes, and it must read
    /// our output before sending more (CVE-2019-9517).
    private func readSocket() {
        guard let loop else { return }
        let buffer = loop.readBuffer
        while phase != .closed, !inputEOF {
            if outbound.isAboveHighWaterMark {
                readPaused = true
                return
            }
            // HTTP/2 stopped reading (GOAWAY after a trip): more input would only pile up
            // in the TLS buffer; the connection closes once the GOAWAY is flushed.
            if let session, !session.wantsRead { return }
            let result: IOResult<Int>
            do {
                result = try socket.read(into: buffer)
            } catch {
                close(reason: error.isPeerGone ? "peer_reset" : "io_error", notifyPeer: false)
                return
            }
            switch result {
            case .wouldBlock:
                return
            case .processed(0):
                inputEOF = true
                engine.markEndOfInput()
                processTLSInput()
            case .processed(let n):
                do {
                    try engine.feed(ciphertext: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                } catch {
                    close(reason: error.code, notifyPeer: false)
                    return
                }
                processTLSInput()
            }
        }
    }

    /// Advances the handshake, then decrypts every complete record into the HTTP/2 session.
    /// The loop's read buffer is reused for plaintext: `feed` already copied the ciphertext.
    private func processTLSInput() {
        guard let loop else { return }
        if phase == .handshaking {
            switch engine.handshake() {
            case .wantIO:
                drainTLS()
                if inputEOF { close(reason: "peer_closed_in_handshake", notifyPeer: false) }
                return
            case .failed(let error):
                drainTLS()  // carries the alert
                close(reason: error.code, notifyPeer: false, flushFirst: true)
                return
            case .done:
                drainTLS()
                guard establish() else { return }
            }
        }
        let buffer = loop.readBuffer
        while phase == .serving, let session, session.wantsRead {
            switch engine.readPlaintext(into: buffer) {
            case .bytes(let n):
                handle(session.receive(UnsafeRawBufferPointer(rebasing: buffer[0..<n])))
            case .wantRead:
                drainTLS()  // KeyUpdate replies and the like
                if inputEOF { close(reason: "peer_closed", notifyPeer: false) }
                return
            case .closed:
                drainTLS()
                close(reason: "peer_closed", notifyPeer: true, flushFirst: true)
                return
            case .error(let error):
                drainTLS()
                close(reason: error.code, notifyPeer: false, flushFirst: true)
                return
            }
        }
        if inputEOF { close(reason: "peer_closed", notifyPeer: false) }
    }

    /// Handshake done: the identity must pass the SVID rules, or the connection ends here
    /// with a close_notify and no HTTP/2 session (fail closed; hardening.md "mTLS identity").
    private func establish() -> Bool {
        let identity: PeerIdentity
        do {
            identity = try engine.peerIdentity()
        } catch {
            close(reason: error.code, notifyPeer: true, flushFirst: true)
            return false
        }
        // A handshake that started on a context older than the latest CRL reload verified the
        // chain against the OLD CRL: re-check the serial against the newest one (closes the
        // reload race; the next handshake is refused by OpenSSL itself).
        if shared.isRevoked(serialHex: identity.serialHex) {
            close(reason: "certificate_revoked", notifyPeer: true, flushFirst: true)
            return false
        }
        let created: H2ServerSession
        do {
            let handler = shared.handler
            created = try H2ServerSession(limits: limits, routeBodyCaps: shared.routeBodyCaps,
                                          clock: ServerShared.monotonicSeconds,
                                          errorBody: { handler.localErrorBody(for: $0) })
        } catch {
            close(reason: "internal_error", notifyPeer: true, flushFirst: true)
            return false
        }
        peer = PeerInfo(spiffeID: identity.spiffeID.description, trustDomain: identity.spiffeID.trustDomain,
                        certificateNotAfter: identity.notAfter, certificateSerialHex: identity.serialHex,
                        remoteAddress: remoteAddress)
        session = created
        phase = .serving
        capAgeAtCertificateExpiry(notAfter: identity.notAfter)
        shared.counters.established.add(1, ordering: .relaxed)
        cancelTimer(&handshakeTimer)
        firstRequestTimer = loop?.scheduleTimer(after: .seconds(limits.firstRequestTimeout)) { [weak self] in
            self?.firstRequestTimedOut()
        }
        if context.draining { beginDrain(reason: "server_shutdown") }
        return true
    }

    // MARK: - Output

    /// Runs after every batch of input or timer work: produce, flush, close when HTTP/2 is
    /// finished, re-arm the timers.
    func afterIO() {
        guard phase != .closed else { return }
        pumpOutput()
        guard phase != .closed else { return }
        if let session, session.isClosed, outbound.isEmpty {
            close(reason: endReason ?? "completed", notifyPeer: true)
            return
        }
        updateTimers()
    }

    /// Produce and flush until nghttp2 has nothing more to send or the socket pushes back.
    /// WHY a loop: `produceOutput` stops at the high-water mark; when `flush` then empties
    /// `outbound` completely the socket never became unwritable, so the edge-triggered
    /// EPOLLOUT that `writable()` waits for will never come. Without this, a response
    /// larger than `writeHighWaterBytes` stalls until the peer happens to send something
    /// (curl does, with WINDOW_UPDATEs; a client with large windows does not).
    func pumpOutput() {
        while phase != .closed {
            let produced = produceOutput()
            flush()
            guard produced, outbound.isEmpty, let session, session.wantsWrite else { return }
        }
    }

    /// HTTP/2 frames -> TLS records -> `outbound`, only while below the high-water mark; the
    /// rest stays inside nghttp2 until `writable()` (or the next `pumpOutput` round).
    /// Returns whether any bytes were produced.
    @discardableResult
    func produceOutput() -> Bool {
        guard phase == .serving, let session else { return false }
        var produced = false
        while session.wantsWrite, !outbound.isAboveHighWaterMark {
            plaintextOut.removeAll(keepingCapacity: true)
            let room = limits.writeHighWaterBytes - outbound.count
            let events = session.produce(into: &plaintextOut, max: room)
            if !plaintextOut.isEmpty {
                do {
                    _ = try engine.writePlaintext(plaintextOut)
                } catch {
                    close(reason: error.code, notifyPeer: false)
                    return produced
                }
                drainTLS()
                produced = true
            }
            handle(events)
            if plaintextOut.isEmpty || phase != .serving { break }
        }
        return produced
    }

    /// Moves TLS output into the outbound buffer.
    func drainTLS() {
        guard engine.pendingCiphertextCount > 0 else { return }
        ciphertextOut.removeAll(keepingCapacity: true)
        engine.drainCiphertext(into: &ciphertextOut)
        outbound.append(contentsOf: ciphertextOut)
    }

    /// Writes what the socket takes; the rest waits for `writable()`.
    func flush() {
        guard !outbound.isEmpty, socket.isOpen else { return }
        do {
            _ = try outbound.flush(to: socket)
        } catch {
            close(reason: error.isPeerGone ? "peer_reset" : "io_error", notifyPeer: false)
        }
    }

    // MARK: - Closing

    /// Ends the connection now: optional close_notify, one last non-blocking flush, then
    /// deregister, close, release the global permit and the per-IP slot, cancel handler
    /// tasks, count and log once.
    func close(reason: String, notifyPeer: Bool, flushFirst: Bool = false) {
        guard phase != .closed else { return }
        if notifyPeer {
            engine.shutdown()
            drainTLS()
        }
        if notifyPeer || flushFirst {
            if socket.isOpen { _ = try? outbound.flush(to: socket) }
        }
        phase = .closed
        cancelAllTimers()
        for task in inFlight.values { task.cancel() }
        inFlight.removeAll()
        if socket.isOpen {
            // Unread input makes close(2) send RST, which can destroy the alert or GOAWAY
            // just written before the peer reads it; discard a bounded amount first.
            discardPendingInput()
            loop?.deregister(socket.descriptor)
            socket.close()
        }
        permit.release()
        shared.perIP.release(ip)
        context.remove(id)
        let age = Double(Deadline.now().nanoseconds - openedAt.nanoseconds) / 1_000_000_000
        shared.connectionClosed(reason: reason, peer: peer, remote: remoteAddress,
                                requests: requestsServed, ageSeconds: age)
    }

    private func discardPendingInput() {
        guard let loop else { return }
        for _ in 0..<4 {
            guard case .processed(let n)? = try? socket.read(into: loop.readBuffer), n > 0 else { return }
        }
    }
}
