import CapgateCore
import CapgateHTTP2
import CapgateIO
import CapgateTLS
import Logging
import Synchronization

/// What every connection of one server shares, across loops: the handler, limits, counters,
/// caps, the current TLS context and the shutdown state. All of it is `Sendable` (immutable,
/// atomic or locked), so loops never coordinate except through these.
final class ServerShared: Sendable {
    let limits: GatewayLimits
    let drainTimeout: Double
    let handler: any RequestHandler
    let logger: Logger
    let counters = ServerCounters()
    let perIP: PerIPConnectionLimiter
    /// Sockets that have not authenticated yet (per source, global, handshake rates).
    let preAuth: PreAuthBudget
    /// Authenticated connections (global, per SPIFFE ID).
    let authenticated: AuthenticatedConnectionLimiter
    let reloader: CertificateReloader
    /// The handler's body caps by route, read once (the handler's table is fixed).
    let routeBodyCaps: [String: Int]
    /// True once graceful shutdown began: new connections are refused.
    let draining = Atomic<Bool>(false)
    /// True once the loops were asked to stop (hangups then mean "server stopped").
    let stopping = Atomic<Bool>(false)
    /// Canonical serials (`CRLSerials.canonical`) listed by the CRLs of the current TLS
    /// material; a handshake that completes with one of them is closed (reload race).
    private let revoked = Mutex<Set<String>>([])
    /// The loop handles to stop once the last connection is gone while draining.
    private let handles = Mutex<[EventLoopHandle]>([])

    init(limits: GatewayLimits, drainTimeout: Double, handler: any RequestHandler,
         logger: Logger, reloader: CertificateReloader) {
        self.routeBodyCaps = handler.routeBodyCaps
        self.limits = limits
        self.drainTimeout = drainTimeout
        self.handler = handler
        self.logger = logger
        self.perIP = PerIPConnectionLimiter(maxPerIP: limits.maxConnectionsPerIP)
        self.preAuth = PreAuthBudget(limits: limits)
        self.authenticated = AuthenticatedConnectionLimiter(maxGlobal: limits.maxConnectionsGlobal,
                                                            maxPerIdentity: limits.maxConnectionsPerIdentity)
        self.reloader = reloader
    }

    func setHandles(_ h: [EventLoopHandle]) { handles.withLock { $0 = h } }

    func setRevokedSerials(_ serials: Set<String>) { revoked.withLock { $0 = serials } }

    func isRevoked(serialHex: String) -> Bool {
        let key = CRLSerials.canonical(serialHex)
        return revoked.withLock { $0.contains(key) }
    }

    /// Monotonic seconds for the HTTP/2 session (token buckets, request timeouts).
    static func monotonicSeconds() -> Double {
        Double(Deadline.now().nanoseconds) / 1_000_000_000
    }

    /// Called once per connection end (on its loop): count, log one line, and finish a
    /// graceful shutdown when this was the last connection.
    func connectionClosed(reason: CloseReason, peer: PeerInfo?, remote: String, requests: Int, ageSeconds: Double) {
        counters.recordClose(reason.code)
        let identity = peer?.spiffeID ?? "-"
        let level: Logger.Level = reason.isOrdinaryEnd ? .info : .warning
        let ms = Int(ageSeconds * 1000)
        logger.log(level, "connection closed peer=\(identity) remote=\(remote) reason=\(reason) "
                   + "requests=\(requests) age_ms=\(ms)")
        let remaining = counters.active.subtract(1, ordering: .acquiringAndReleasing).newValue
        if remaining == 0 { stopIfDrained() }
    }

    /// Stops every loop when draining and no connection is left.
    func stopIfDrained() {
        guard draining.load(ordering: .acquiring), counters.active.load(ordering: .acquiring) == 0 else { return }
        stopLoops()
    }

    /// Asks every loop to stop (idempotent). Connections still registered get `hangup()`.
    func stopLoops() {
        stopping.store(true, ordering: .releasing)
        for h in handles.withLock({ $0 }) { h.stop() }
    }
}
