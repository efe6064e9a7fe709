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
    /// Handler tasks running across every connection (`maxInFlightGlobal`).
    let handlerWork: InFlightBudget
    /// Request-body bytes reserved across every connection (`maxBufferedBodyBytesGlobal`),
    /// handed to each connection's HTTP/2 session.
    let bodyBudget: BodyBudget
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
    /// Numbers established connections 1, 2, ... across every loop (`PeerInfo.connectionID`;
    /// the loops' own registry ids repeat from loop to loop).
    let connectionSerials = Atomic<UInt64>(0)
    /// (issuer, serial) keys (`CRLSerials.revokedKeys`) listed by the CRLs of the current TLS
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
        self.handlerWork = InFlightBudget(limit: limits.maxInFlightGlobal)
        self.bodyBudget = BodyBudget(limit: limits.maxBufferedBodyBytesGlobal)
        self.perIP = PerIPConnectionLimiter(maxPerIP: limits.maxConnectionsPerIP)
        self.preAuth = PreAuthBudget(limits: limits)
        self.authenticated = AuthenticatedConnectionLimiter(maxGlobal: limits.maxConnectionsGlobal,
                                                            maxPerIdentity: limits.maxConnectionsPerIdentity)
        self.reloader = reloader
    }

    func setHandles(_ h: [EventLoopHandle]) { handles.withLock { $0 = h } }

    func setRevoked(keys: Set<String>) { revoked.withLock { $0 = keys } }

    /// True when the newest CRLs list any of these (issuer, serial) keys.
    func isRevoked(anyOf keys: [String]) -> Bool {
        revoked.withLock { set in keys.contains { set.contains($0) } }
    }

    /// False when `der` is not an anchor of the CURRENT context (the newest trust bundle):
    /// a handshake that completes on an older context with an anchor since removed is closed
    /// (reload race). Read from the reloader itself, so there is no window between the swap
    /// and a copy. An unknown anchor (empty: OpenSSL returned no chain) fails closed.
    func isTrusted(anchorDER der: [UInt8]) -> Bool {
        !der.isEmpty && reloader.current.trustAnchorsDER.contains(der)
    }

    /// Monotonic seconds for the HTTP/2 session (token buckets, request timeouts).
    static func monotonicSeconds() -> Double {
        Double(Deadline.now().nanoseconds) / 1_000_000_000
    }

    /// Called once per connection end (on its loop): count, log one line, and finish a
    /// graceful shutdown when this was the last connection.
    func connectionClosed(reason: CloseReason, peer: PeerInfo?, remote: String, requests: Int, ageSeconds: Double) {
        counters.recordClose(reason.code)
        // No verified, admitted peer: the handshake (or the admission after it) failed.
        if peer == nil { counters.recordHandshakeFailure(reason.code) }
        let identity = peer?.spiffeID ?? "-"
        // Sockets refused before any TLS work (evicted, over the handshake rate) come in floods:
        // one warning each would turn a flood into a log flood. They are counted
        // (closedByReason, the pre-auth counters and metrics) and logged at debug only.
        let level: Logger.Level = reason.isFloodRefusal ? .debug : (reason.isOrdinaryEnd ? .info : .warning)
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
