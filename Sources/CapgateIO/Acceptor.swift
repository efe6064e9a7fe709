import CIOShims
import Glibc
import Synchronization

/// Accepts TCP connections on one loop and deals them round robin to a set
/// of loops through their thread-safe `execute`.
///
/// The acceptor object is the `Sendable` control surface (port, counters,
/// `stopAccepting`); the listening socket itself lives on its loop.
public final class Acceptor: Sendable {
    /// Called on the receiving loop's thread with the new connection. It
    /// owns `connection.descriptor` and `connection.permit` from then on.
    public typealias ConnectionHandler = @Sendable (AcceptedConnection, EventLoop) -> Void

    /// The bound port (useful with port 0).
    public let localPort: UInt16
    private let loop: EventLoopHandle
    private let stats: AcceptorStats

    /// Binds `host:port` now (so configuration errors surface to the caller),
    /// then starts accepting on `loop`, dealing connections to `targets`.
    public init(host: String, port: UInt16, backlog: Int32 = 1024,
                on loop: EventLoopHandle, distributingTo targets: [EventLoopHandle],
                limiter: ConnectionLimiter,
                onConnection: @escaping ConnectionHandler) throws(IOError) {
        precondition(!targets.isEmpty, "an acceptor needs at least one loop to hand connections to")
        let listener = try Socket.listen(host: host, port: port, backlog: backlog)
        localPort = try listener.localPort()
        self.loop = loop
        let stats = AcceptorStats()
        self.stats = stats
        let fd = listener.takeDescriptor()
        stats.listenerFD.store(fd, ordering: .releasing)
        let posted = loop.execute { eventLoop in
            let handler = ListenerHandler(socket: Socket(adopting: fd), loop: eventLoop, targets: targets,
                                          limiter: limiter, stats: stats, onConnection: onConnection)
            do {
                try eventLoop.register(fd, interest: .read, handler: handler)
                // Connections may already be queued: an edge-triggered
                // registration reports them, but draining now costs nothing.
                handler.readable()
            } catch {
                stats.recordError()
                handler.close()
            }
        }
        if !posted {
            stats.listenerFD.store(-1, ordering: .releasing)
            _ = Glibc.close(fd)
            throw IOError(errno: ESHUTDOWN, call: "Acceptor(loop stopped)")
        }
    }

    /// Connections accepted under the cap and handed to a loop (a hand-off
    /// to a loop that has shut down is also counted in `acceptErrors`).
    public var accepted: Int { stats.accepted.load(ordering: .relaxed) }
    /// Failed accept calls (EMFILE, aborted handshakes, ...) and failed hand-offs.
    public var acceptErrors: Int { stats.errors.load(ordering: .relaxed) }
    /// False once the listening socket is closed (stopAccepting, or a fatal
    /// accept error: the acceptor fails closed rather than spinning).
    public var isListening: Bool { stats.listenerFD.load(ordering: .acquiring) >= 0 }

    /// Graceful shutdown, step one: close the listening socket so new
    /// connections are refused; existing ones keep working. `completion`
    /// runs on the acceptor's loop once the socket is closed (or at once if
    /// the loop is gone).
    public func stopAccepting(completion: (@Sendable () -> Void)? = nil) {
        let posted = loop.execute { eventLoop in
            let fd = self.stats.listenerFD.load(ordering: .acquiring)
            if fd >= 0, let listener = eventLoop.handler(for: fd) as? ListenerHandler,
               listener.stats === self.stats {
                listener.close()
            }
            completion?()
        }
        if !posted { completion?() }
    }
}

/// Counters shared between the control surface and the loop-side handler.
final class AcceptorStats: Sendable {
    let accepted = Atomic<Int>(0)
    let errors = Atomic<Int>(0)
    /// The listening fd while open, else -1. Written on the acceptor's loop
    /// (and in init before the loop sees it).
    let listenerFD = Atomic<Int32>(-1)
    func recordError() { errors.add(1, ordering: .relaxed) }
}
