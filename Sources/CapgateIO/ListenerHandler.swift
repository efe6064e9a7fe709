import Glibc

/// The loop-side half of `Acceptor`: owns the listening socket, drains the
/// accept queue in bounded bursts and deals connections out round robin.
final class ListenerHandler: EventHandler {
    /// Accepts per wake-up before yielding to the loop's other fds; the rest
    /// continue in a local task (edge-triggered: no new edge would come).
    static let burst = 64
    /// Back-off when out of fds/memory: the pending connection stays queued
    /// and, edge-triggered, would never be reported again without a retry.
    static let exhaustionRetry: Duration = .milliseconds(100)

    let stats: AcceptorStats
    private let socket: Socket
    private weak var loop: EventLoop?
    private let targets: [EventLoopHandle]
    private var nextTarget = 0
    private let limiter: ConnectionLimiter
    private let onConnection: Acceptor.ConnectionHandler
    private var retryTimer: TimerID?

    init(socket: Socket, loop: EventLoop, targets: [EventLoopHandle], limiter: ConnectionLimiter,
         stats: AcceptorStats, onConnection: @escaping Acceptor.ConnectionHandler) {
        self.socket = socket
        self.loop = loop
        self.targets = targets
        self.limiter = limiter
        self.stats = stats
        self.onConnection = onConnection
    }

    func readable() {
        for _ in 0..<Self.burst {
            guard socket.isOpen else { return }
            let result: IOResult<(descriptor: Int32, peer: String)>
            do {
                result = try socket.accept()
            } catch {
                stats.recordError()
                if !handleAcceptError(error) { return }
                continue
            }
            guard case .processed(let (fd, peer)) = result else { return }
            handOff(fd: fd, peer: peer)
        }
        loop?.executeLater { [weak self] in self?.readable() }
    }

    func writable() {}

    func hangup() { close() }

    /// Closes the listener: new connections are refused by the kernel.
    func close() {
        guard socket.isOpen else { return }
        if let retryTimer { loop?.cancelTimer(retryTimer) }
        retryTimer = nil
        loop?.deregister(socket.descriptor)
        stats.listenerFD.store(-1, ordering: .releasing)
        socket.close()
    }

    private func handOff(fd: Int32, peer: String) {
        guard let permit = limiter.tryAcquire() else {
            // Over the global cap: refuse at once (counted by the limiter).
            _ = Glibc.close(fd)
            return
        }
        // Best effort: HTTP/2 over TLS is latency-bound; a failure here means
        // the peer is already gone and the first read will say so.
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let connection = AcceptedConnection(descriptor: fd, peer: peer, permit: permit)
        let target = targets[nextTarget]
        nextTarget = (nextTarget + 1) % targets.count
        stats.accepted.add(1, ordering: .relaxed)
        let onConnection = self.onConnection
        if !target.execute({ loop in onConnection(connection, loop) }) {
            // The target loop has shut down: nobody owns the connection.
            // Count and release before closing so the peer's EOF is ordered
            // after the bookkeeping.
            stats.recordError()
            permit.release()
            _ = Glibc.close(fd)
        }
    }

    /// Returns true to keep accepting in this burst.
    private func handleAcceptError(_ error: IOError) -> Bool {
        switch error.errno {
        case EMFILE, ENFILE, ENOBUFS, ENOMEM:
            scheduleRetry()
            return false
        case ECONNABORTED, EPROTO, EPERM, ENETDOWN, ENOPROTOOPT, EHOSTDOWN, ENONET,
             EHOSTUNREACH, ENETUNREACH, ETIMEDOUT:
            // That one connection failed; the queue behind it is fine.
            return true
        default:
            // EBADF, EINVAL, ENOTSOCK...: the listener itself is broken.
            // Fail closed instead of spinning on it.
            close()
            return false
        }
    }

    private func scheduleRetry() {
        guard retryTimer == nil, let loop else { return }
        retryTimer = loop.scheduleTimer(after: Self.exhaustionRetry) { [weak self] in
            self?.retryTimer = nil
            self?.readable()
        }
    }
}
