import CapgateIO
import CapgateTLS
import Glibc

/// What the protocol above a `ConnectionCore` provides: the server connection and the HTTP/2
/// client are its two drivers. All calls come on the core's loop thread.
package protocol ConnectionDriver: AnyObject {
    /// The TLS handshake completed. Accept the peer and return true, or close the core (with
    /// a reason of your own) and return false: no plaintext is read before this said yes.
    func transportEstablished() -> Bool
    /// Whether plaintext is still wanted (nghttp2 stopped reading after a GOAWAY it sent: more
    /// input would only pile up in TLS).
    var wantsInput: Bool { get }
    /// Whether the protocol has output queued (produce until this is false).
    var wantsOutput: Bool { get }
    /// Whether the protocol is done: the core ends the connection once its output is flushed.
    var isFinished: Bool { get }
    /// Decrypted bytes from the peer.
    func receive(_ plaintext: UnsafeRawBufferPointer)
    /// Append at most `max` plaintext bytes of output to `buffer` (empty on entry).
    func produce(into buffer: inout [UInt8], max: Int)
    /// Every decrypted byte so far was handed over (TLS wants more input).
    func inputDrained()
    /// A batch of IO is done and the connection is still open (re-arm timers here).
    func settled()
    /// The transport ended (or the protocol finished); the driver must call `close` on the
    /// core with the flags that fit, then do its own bookkeeping.
    func transportEnded(_ end: TransportEnd)
    /// The first `byteCount` bytes from the peer arrived, before any TLS work on them:
    /// `.proceed`; `.refused` after closing the core (the server's handshake rate); `.wait` to
    /// hold them (the core stops reading) until the driver calls `resumeHandshakeInput()`. The
    /// default proceeds.
    func handshakeInputArrived(byteCount: Int) -> HandshakeAdmission
}

package extension ConnectionDriver {
    func handshakeInputArrived(byteCount: Int) -> HandshakeAdmission { .proceed }
}

/// What to do with a peer's first bytes (`ConnectionDriver.handshakeInputArrived`).
package enum HandshakeAdmission: Equatable, Sendable {
    case proceed
    /// Hold them; the driver resumes the core after about `seconds`.
    case wait(seconds: Double)
    case refused
}

/// How the transport ended, as the core saw it; each driver maps it to its own reason.
package enum TransportEnd {
    /// A socket read or write failed (`IOError.isPeerGone` tells a reset from the rest).
    case socketFailed(IOError)
    /// TLS failed. `alertQueued`: an alert sits in the outbound buffer, flush it before closing
    /// so the peer learns why (handshake failures, fatal record errors).
    case tlsFailed(TLSError, alertQueued: Bool)
    /// EOF before the handshake completed.
    case closedDuringHandshake
    /// The peer ended the connection after the handshake: a close_notify (answer it) or a bare
    /// EOF. The contexts ignore an unexpected EOF, so an EOF right after a complete record reads
    /// as a close_notify too; `closeNotify: false` is an EOF with TLS still wanting bytes.
    case peerClosed(closeNotify: Bool)
    /// EPOLLHUP/EPOLLERR, or the loop is shutting down with the connection registered.
    case hangup
    /// The protocol above finished and every byte was flushed.
    case finished
}

/// One TLS connection on an event loop: socket + TLS engine + outbound buffer, and the pump
/// between them. The server connection and the HTTP/2 client both run on it, so the data path
/// is written once.
///
/// Data path (edge-triggered epoll; docs/platform-notes.md): `readable()` reads the socket until EAGAIN, feeds TLS,
/// advances the handshake, then decrypts until WANT_READ into the driver. Output is produced
/// from the driver into TLS into `outbound` only while `outbound` is below its high-water mark
/// (CVE-2019-9517: a peer that never reads must not make us buffer without bound); the rest
/// stays inside nghttp2 until `writable()`. EPOLLOUT stays armed, so `writable()` resumes both
/// writing and, when reading paused at the mark, reading.
///
/// Loop-confined, not `Sendable`. The driver is held weakly: it owns the core.
package final class ConnectionCore: EventHandler {
    package enum State: Equatable { case handshaking, established, closed }

    package let socket: Socket
    package let engine: TLSEngine
    package weak var loop: EventLoop?
    package weak var driver: (any ConnectionDriver)?
    package private(set) var state = State.handshaking
    package private(set) var outbound: OutboundBuffer
    /// Stop reading while `outbound` is at the high-water mark. A server wants it (the peer
    /// must read our output before it may send more); a client must not: with both sides
    /// paused on each other's unread output, neither would ever read again.
    private let pausesReadsAtHighWater: Bool
    /// HTTP/2 output for one produce round (reused, keeps its capacity).
    private var plaintextOut: [UInt8] = []
    /// Plaintext the engine has not taken yet (partial writes), sent before anything new.
    private var backlog = PlaintextBacklog()
    /// TLS output before it joins `outbound` (reused).
    private var ciphertextOut: [UInt8] = []
    /// Reading stopped because `outbound` passed the high-water mark.
    private var readPaused = false
    private var inputEOF = false
    /// The peer's first bytes were announced to the driver (`handshakeInputArrived`).
    private var sawInput = false
    /// The first bytes, held while the driver makes the handshake wait its turn; nothing more is
    /// read until `resumeHandshakeInput()`.
    private var heldInput: [UInt8]?
    /// An `afterIO` is queued for the end of this loop iteration (see `scheduleAfterIO`).
    private var afterIOScheduled = false
    /// `readSocket` runs inside `readable`/`writable`, which call `afterIO` right after it: a
    /// `scheduleAfterIO` meanwhile (an answer given in place, `RequestHandler.respondNow`) has
    /// nothing to add, and skipping it saves a queued closure and a second round per request.
    private var readingInput = false
    /// A read continuation is queued: the last wakeup stopped at `readBudgetBytes`.
    private var readContinuationScheduled = false
    /// EPOLLRDHUP was seen: the peer's FIN may sit behind its data, so reads go on to the EOF.
    private var peerShutdownSeen = false

    /// Ciphertext bytes one wakeup reads before yielding the loop (docs/limits.md). Reading to
    /// EAGAIN let one fast sender hold the loop, and every other connection on it, for as long
    /// as it kept the socket full. Four reads of the loop's 64 KiB buffer.
    package static let defaultReadBudgetBytes = 256 * 1024
    /// This core's budget (tests lower it to make it bind on a socketpair).
    package var readBudgetBytes = ConnectionCore.defaultReadBudgetBytes
    /// Times a wakeup stopped at the budget (tests and metrics: the budget really bound).
    package private(set) var readBudgetYields = 0

    package init(socket: Socket, engine: TLSEngine, loop: EventLoop, highWaterMark: Int, pausesReadsAtHighWater: Bool) {
        self.socket = socket
        self.engine = engine
        self.loop = loop
        self.outbound = OutboundBuffer(highWaterMark: highWaterMark)
        self.pausesReadsAtHighWater = pausesReadsAtHighWater
    }

    package var isClosed: Bool { state == .closed }

    /// Registers the fd (both directions, edge-triggered).
    package func register() throws(IOError) {
        guard let loop else { throw IOError(errno: ESHUTDOWN, call: "ConnectionCore.register") }
        try loop.register(socket.descriptor, interest: .all, handler: self)
    }

    /// First step after `register`: a client's ClientHello goes out, and bytes already queued
    /// are read now (the registration's first edge would report them too, but reading now
    /// costs nothing and removes the doubt). A server has nothing to say first: its handshake
    /// starts with the ClientHello that `readable()` feeds (an extra empty handshake step
    /// there only set up and released OpenSSL's read buffer on every accept).
    package func begin() {
        guard state == .handshaking else { return }
        if engine.role == .client { processTLSInput() }
        readable()
    }

    // MARK: - EventHandler

    package func readable() {
        guard state != .closed else { return }
        readPaused = false
        readingInput = true
        readSocket()
        readingInput = false
        afterIO()
    }

    package func writable() {
        guard state != .closed else { return }
        // Nothing waits for the socket: the edge only says the peer acknowledged bytes (each
        // request's packet carries the ACK of the previous answer, so EPOLLOUT comes with
        // nearly every EPOLLIN, after `readable` already produced and flushed). Every state
        // change that can queue output runs `afterIO` itself (input, timers, handler answers),
        // so a second round here would only repeat its checks and the driver's `settled`.
        if state == .established, outbound.isEmpty, backlog.isEmpty, !readPaused,
           let driver, !driver.wantsOutput, !driver.isFinished {
            return
        }
        flush()
        pump()
        if readPaused, !outbound.isAboveHighWaterMark, state != .closed {
            readPaused = false
            readingInput = true
            readSocket()
            readingInput = false
        }
        afterIO()
    }

    package func hangup() { end(.hangup) }

    package func readHangup() { peerShutdownSeen = true }

    // MARK: - Input

    /// Reads until EAGAIN or a short read (edge-triggered; see the end of the loop), until the output backlog passes the high-water
    /// mark (servers: then the peer's bytes stay in the kernel, its TCP window closes, and it
    /// must read our output before sending more), or until `readBudgetBytes` were read this
    /// wakeup. WHY the explicit continuation at the budget: epoll is edge-triggered, and the
    /// data left in the socket makes no new edge, so nothing else would ever read it.
    private func readSocket() {
        guard let loop else { return }
        let buffer = loop.readBuffer
        var budget = readBudgetBytes
        while state != .closed, !inputEOF, heldInput == nil {
            if pausesReadsAtHighWater, outbound.isAboveHighWaterMark {
                readPaused = true
                return
            }
            if budget <= 0 {
                scheduleReadContinuation()
                return
            }
            if state == .established, let driver, !driver.wantsInput { return }
            let result: IOResult<Int>
            do {
                result = try socket.read(into: buffer)
            } catch {
                end(.socketFailed(error))
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
                budget -= n
                if !sawInput {
                    sawInput = true
                    switch driver?.handshakeInputArrived(byteCount: n) ?? .proceed {
                    case .proceed:
                        guard state != .closed else { return }
                    case .refused:
                        return
                    case .wait:
                        guard state != .closed else { return }
                        heldInput = Array(buffer[0..<n])  // the loop's buffer is reused
                        return
                    }
                }
                do {
                    try engine.feed(ciphertext: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                } catch {
                    end(.tlsFailed(error, alertQueued: false))
                    return
                }
                processTLSInput()
                // A short read emptied the socket's queue: bytes arriving later make a new
                // edge, so the read that would only say EAGAIN is skipped (one syscall per
                // request at 1x1). Not once the peer shut down (EPOLLRDHUP): its FIN may be
                // queued already and would make no edge.
                if n < buffer.count && !peerShutdownSeen { return }
            }
        }
    }

    /// The driver let held first bytes go on (`HandshakeAdmission.wait`): feed them to TLS, then
    /// read what arrived meanwhile (edge-triggered: no new edge would report it).
    package func resumeHandshakeInput() {
        guard state != .closed, let bytes = heldInput else { return }
        heldInput = nil
        do {
            try engine.feed(bytes)
        } catch {
            end(.tlsFailed(error, alertQueued: false))
            return
        }
        processTLSInput()
        readable()
    }

    /// Resumes reading on the next loop iteration, after the other ready sockets had their turn
    /// (the loop polls without waiting while local tasks are queued).
    private func scheduleReadContinuation() {
        readBudgetYields += 1
        guard !readContinuationScheduled, let loop else { return }
        readContinuationScheduled = true
        loop.executeLater { [weak self] in
            guard let self else { return }
            self.readContinuationScheduled = false
            self.readable()
        }
    }

    /// Advances the handshake, then decrypts every complete record into the driver. The
    /// loop's read buffer is reused for plaintext: `feed` already copied the ciphertext.
    private func processTLSInput() {
        guard let loop else { return }
        if state == .handshaking {
            switch engine.handshake() {
            case .wantIO:
                drainTLS()
                if inputEOF { end(.closedDuringHandshake) }
                return
            case .failed(let error):
                drainTLS()  // carries the alert
                end(.tlsFailed(error, alertQueued: true))
                return
            case .done:
                drainTLS()
                state = .established
                guard let driver, driver.transportEstablished(), state == .established else { return }
            }
        }
        let buffer = loop.readBuffer
        // The driver is read once (a weak load each turn cost a retain and a release).
        guard let driver else {
            if inputEOF { end(.peerClosed(closeNotify: false)) }
            return
        }
        while state == .established, driver.wantsInput {
            switch engine.readPlaintext(into: buffer) {
            case .bytes(let n):
                driver.receive(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            case .wantRead:
                drainTLS()  // KeyUpdate replies and the like
                driver.inputDrained()
                if inputEOF { end(.peerClosed(closeNotify: false)) }
                return
            case .closed:
                drainTLS()
                end(.peerClosed(closeNotify: true))
                return
            case .error(let error):
                drainTLS()
                end(.tlsFailed(error, alertQueued: true))
                return
            }
        }
        if inputEOF { end(.peerClosed(closeNotify: false)) }
    }

    // MARK: - Output

    /// Runs after every batch of input, timer or application work: produce and flush, end the
    /// connection once the protocol is finished and flushed, else let the driver settle.
    package func afterIO() {
        guard state != .closed else { return }
        pump()
        guard state != .closed, let driver else { return }
        if state == .established, driver.isFinished, outbound.isEmpty, backlog.isEmpty {
            end(.finished)
            return
        }
        if outbound.isEmpty, backlog.isEmpty, !driver.wantsOutput { releaseIdleMemory() }
        driver.settled()
    }

    /// Above this many bytes a quiescent connection gives its buffers back (see below).
    package static let idleBufferRetainBytes = 16 * 1024

    /// Nothing to send and nothing buffered: drop the capacity that bursts left behind (the
    /// memory BIOs, the plaintext and ciphertext staging arrays, the outbound buffer), so an
    /// idle connection costs its protocol state, not its largest response. Small exchanges stay
    /// under the threshold and reuse their buffers; a connection that moves large frames pays
    /// one allocation per burst (docs/benchmarks.md, idle connections).
    private func releaseIdleMemory() {
        let keep = Self.idleBufferRetainBytes
        engine.releaseIdleBuffers(above: keep)
        outbound.releaseCapacity(above: keep)
        if plaintextOut.capacity > keep { plaintextOut = [] }
        if ciphertextOut.capacity > keep { ciphertextOut = [] }
    }

    /// Runs `afterIO` once at the end of this loop iteration: work that completes together
    /// (handler responses, client submissions) leaves in one produce/encrypt/write round
    /// instead of one syscall each. Inside `readSocket` the `afterIO` that follows it does this.
    package func scheduleAfterIO() {
        guard !afterIOScheduled, !readingInput, state != .closed, let loop else { return }
        afterIOScheduled = true
        loop.executeLater { [weak self] in
            guard let self else { return }
            self.afterIOScheduled = false
            self.afterIO()
        }
    }

    /// Produce and flush until the driver has nothing more to send or the socket pushes back.
    /// WHY a loop: production stops at the high-water mark; when `flush` then empties
    /// `outbound` completely the socket never became unwritable, so the edge-triggered EPOLLOUT
    /// that `writable()` waits for will never come. Without this, a message larger than the
    /// mark stalls until the peer happens to send something.
    package func pump() {
        while state != .closed {
            let produced = produceOutput()
            flush()
            guard produced, outbound.isEmpty, let driver, driver.wantsOutput else { return }
        }
    }

    /// Driver output -> TLS records -> `outbound`, only while below the high-water mark.
    /// Returns whether any bytes were produced.
    private func produceOutput() -> Bool {
        guard state == .established, let driver else { return false }
        var produced = false
        // Bytes the engine did not take last time go first (a partial write must not drop
        // or reorder bytes: PlaintextBacklog).
        if !backlog.isEmpty {
            let n: Int
            do {
                n = try backlog.drain { (raw) throws(TLSError) in try engine.writePlaintext(raw) }
            } catch {
                end(.tlsFailed(error, alertQueued: false))
                return produced
            }
            if n > 0 {
                drainTLS()
                produced = true
            }
            if !backlog.isEmpty { return produced }
        }
        while driver.wantsOutput, !outbound.isAboveHighWaterMark {
            plaintextOut.removeAll(keepingCapacity: true)
            driver.produce(into: &plaintextOut, max: outbound.highWaterMark - outbound.count)
            if !plaintextOut.isEmpty, state == .established {
                let n: Int
                do {
                    n = try backlog.write(plaintextOut) { (raw) throws(TLSError) in try engine.writePlaintext(raw) }
                } catch {
                    end(.tlsFailed(error, alertQueued: false))
                    return produced
                }
                drainTLS()
                if n > 0 { produced = true }
                // The engine is full: wait for the next pump (after input or writability).
                if !backlog.isEmpty { break }
            }
            if plaintextOut.isEmpty || state != .established { break }
        }
        return produced
    }

    /// Moves TLS output into the outbound buffer.
    private func drainTLS() {
        guard engine.pendingCiphertextCount > 0 else { return }
        ciphertextOut.removeAll(keepingCapacity: true)
        engine.drainCiphertext(into: &ciphertextOut)
        outbound.append(contentsOf: ciphertextOut)
    }

    /// Writes what the socket takes; the rest waits for `writable()`.
    private func flush() {
        guard !outbound.isEmpty, socket.isOpen else { return }
        do {
            _ = try outbound.flush(to: socket)
        } catch {
            end(.socketFailed(error))
        }
    }

    // MARK: - Closing

    /// Hands an end to the driver, which closes (a core whose driver is gone closes itself).
    private func end(_ end: TransportEnd) {
        guard state != .closed else { return }
        if let driver {
            driver.transportEnded(end)
        } else {
            close(notifyPeer: false, flushFirst: false)
        }
    }

    /// Ends the transport now: optional close_notify, one last non-blocking flush, then
    /// deregister and close the fd. Idempotent. The driver does its own bookkeeping after.
    package func close(notifyPeer: Bool, flushFirst: Bool = false) {
        guard state != .closed else { return }
        state = .closed
        if notifyPeer {
            engine.shutdown()
            drainTLS()
        }
        if notifyPeer || flushFirst {
            if socket.isOpen { _ = try? outbound.flush(to: socket) }
        }
        if socket.isOpen {
            // Unread input makes close(2) send RST, which can destroy the alert or GOAWAY
            // just written before the peer reads it; discard a bounded amount first.
            discardPendingInput()
            _ = loop?.deregisterClosing(socket.descriptor)
            socket.close()
        }
    }

    /// Nothing to discard once the peer's EOF was read: no byte can follow a FIN (skips one
    /// read(2) on every connection the peer closed, the usual end).
    private func discardPendingInput() {
        guard !inputEOF, let loop else { return }
        for _ in 0..<4 {
            guard case .processed(let n)? = try? socket.read(into: loop.readBuffer), n > 0 else { return }
        }
    }
}
