import Synchronization

/// A global cap on open connections, shared by all loops.
///
/// Why: slowloris-style peers open connections and hold them; without a cap
/// they exhaust fds and memory for everyone (docs/hardening.md, "Slowloris").
/// Over the cap the acceptor closes the new connection at once and counts it.
public final class ConnectionLimiter: Sendable {
    /// The most connections open at once.
    public let maxConnections: Int
    private let open = Atomic<Int>(0)
    private let rejectedCount = Atomic<Int>(0)

    public init(maxConnections: Int) {
        precondition(maxConnections > 0, "a cap of zero would refuse every connection")
        self.maxConnections = maxConnections
    }

    /// Connections currently holding a permit.
    public var active: Int { open.load(ordering: .relaxed) }
    /// Connections refused because the cap was reached.
    public var rejected: Int { rejectedCount.load(ordering: .relaxed) }

    /// A permit if under the cap; nil (and counted as rejected) otherwise.
    public func tryAcquire() -> ConnectionPermit? {
        var current = open.load(ordering: .relaxed)
        while current < maxConnections {
            let (exchanged, original) = open.compareExchange(
                expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return ConnectionPermit(limiter: self) }
            current = original
        }
        rejectedCount.add(1, ordering: .relaxed)
        return nil
    }

    fileprivate func release() {
        open.subtract(1, ordering: .acquiringAndReleasing)
    }
}

/// One slot under a `ConnectionLimiter`. Keep it alive exactly as long as
/// the connection: it is released by `release()` or, as a backstop against
/// leaks on error paths, when the last reference goes away.
public final class ConnectionPermit: Sendable {
    private let limiter: ConnectionLimiter
    private let released = Atomic<Bool>(false)

    fileprivate init(limiter: ConnectionLimiter) {
        self.limiter = limiter
    }

    deinit { release() }

    /// Returns the slot (idempotent).
    public func release() {
        if !released.exchange(true, ordering: .acquiringAndReleasing) {
            limiter.release()
        }
    }
}

/// An accepted connection on its way to the loop that will own it. Only the
/// raw fd crosses threads; the receiving loop adopts it into a `Socket`.
public struct AcceptedConnection: Sendable {
    /// Non-blocking, close-on-exec, TCP_NODELAY set. The receiver owns it.
    public let descriptor: Int32
    /// "host:port" of the peer, IPv6 bracketed (for logs and per-IP caps).
    public let peer: String
    /// The connection's slot under the global cap.
    public let permit: ConnectionPermit
}
