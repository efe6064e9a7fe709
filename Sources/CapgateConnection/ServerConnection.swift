import CapgateCore
import CapgateHTTP2
import CapgateIO
import CapgateTLS
import Glibc

/// One accepted TCP connection: the driver of a `ConnectionCore` (socket + TLS + the pump)
/// that adds the server's side: identity check, the `H2ServerSession`, handler dispatch, the
/// `ConnectionLifecycle` (phases and deadlines) and the one close log line. Confined to the
/// loop it was handed to (no locks; other threads reach it only through `LoopContext` inside a
/// task that loop runs).
///
/// Fail closed: the first hard error (socket, TLS, identity) closes the connection; an identity
/// that breaks the SPIFFE X509-SVID rules never gets an HTTP/2 session.
final class ServerConnection: ConnectionDriver {
    let id: UInt64
    let core: ConnectionCore
    weak var loop: EventLoop?
    let context: LoopContext
    let shared: ServerShared
    let remoteAddress: String
    let ip: String
    let permit: ConnectionPermit
    /// The slot in the pre-authentication budget, until the handshake verified an identity.
    var preAuthTicket: UInt64?
    /// The SPIFFE ID whose authenticated slot this connection holds (and the per-IP slot).
    var authenticatedSlot: String?

    /// Phases and deadlines; this class executes its actions (see `+Lifecycle`).
    var lifecycle: ConnectionLifecycle
    var session: H2ServerSession?
    var peer: PeerInfo?
    /// Handler work per stream, cancelled when the stream or the connection goes away.
    var inFlight: [Int32: Task<Void, Never>] = [:]
    /// Handler tasks of this connection still running, reset streams included
    /// (`maxInFlightPerConnection`).
    let handlerWork: InFlightBudget
    /// Producers of streamed responses, told after each output round how much HTTP/2 took.
    var streamWriters: [Int32: ResponseStream] = [:]
    var requestsServed = 0
    /// True while this connection is counted in `ServerStats.draining` (`+Metrics`).
    var countedDraining = false

    /// The one loop timer for the lifecycle's deadlines, and when it is due.
    var lifecycleTimer: TimerID?
    var lifecycleTimerDue: Deadline?
    /// The session's stalled-stream deadline (per stream, not per connection: kept apart).
    var requestTimer: TimerID?
    var deadlineEventsSeenByRequestTimer = 0
    /// Retries admission of streams waiting for room in the shared body budget (room freed by
    /// another connection makes no event on this one).
    var bodyBudgetTimer: TimerID?
    /// Re-asks the pre-auth ledger for a handshake token while the first flight waits its turn.
    var handshakeQueueTimer: TimerID?
    /// The next retry's delay: doubles while the shared budget stays full, so thousands of
    /// waiting connections do not spin their loops.
    var bodyBudgetRetryDelay = ServerConnection.bodyBudgetRetryMin

    init(id: UInt64, socket: Socket, engine: TLSEngine, loop: EventLoop, context: LoopContext,
         shared: ServerShared, remoteAddress: String, ip: String, permit: ConnectionPermit, preAuthTicket: UInt64) {
        self.id = id
        self.core = ConnectionCore(socket: socket, engine: engine, loop: loop,
                                   highWaterMark: shared.limits.writeHighWaterBytes, pausesReadsAtHighWater: true)
        self.loop = loop
        self.context = context
        self.shared = shared
        self.remoteAddress = remoteAddress
        self.ip = ip
        self.permit = permit
        self.preAuthTicket = preAuthTicket
        self.handlerWork = InFlightBudget(limit: shared.limits.maxInFlightPerConnection)
        self.lifecycle = ConnectionLifecycle(timeouts: Self.timeouts(shared), now: .now())
        core.driver = self
    }

    var limits: GatewayLimits { shared.limits }

    static func timeouts(_ shared: ServerShared) -> ConnectionLifecycle.Timeouts {
        let l = shared.limits
        return .init(handshake: .seconds(l.handshakeTimeout), firstRequest: .seconds(l.firstRequestTimeout),
                     idle: .seconds(l.idleTimeout), maxAge: .seconds(l.maxConnectionAge),
                     drain: .seconds(shared.drainTimeout))
    }

    /// Registers the fd, joins the loop's registry, arms the lifecycle timer (handshake and
    /// age deadlines), then reads whatever already arrived.
    func start() throws(IOError) {
        try core.register()
        context.add(self)
        rearmLifecycleTimer()
        core.begin()
    }

    // MARK: - ConnectionDriver

    /// Handshake done: the identity must pass the SVID rules, or the connection ends here with
    /// a close_notify and no HTTP/2 session (fail closed; docs/hardening.md "mTLS identity").
    func transportEstablished() -> Bool {
        let identity: PeerIdentity
        do {
            identity = try core.engine.peerIdentity()
        } catch {
            close(reason: .identity(error), notifyPeer: true, flushFirst: true)
            return false
        }
        // A handshake that started on a context older than the latest CRL reload verified the
        // chain against the OLD CRL: re-check every (issuer, serial) of the chain against the
        // newest one (closes the reload race; the next handshake is refused by OpenSSL itself).
        let revocationKeys = core.engine.verifiedChainRevocationKeys()
        if shared.isRevoked(anyOf: revocationKeys) {
            close(reason: .certificateRevoked, notifyPeer: true, flushFirst: true)
            return false
        }
        // Same race for the trust bundle: the chain's anchor must still be trusted.
        let anchor = core.engine.verifiedAnchorDER() ?? []
        if !shared.isTrusted(anchorDER: anchor) {
            close(reason: .trustAnchorRemoved, notifyPeer: true, flushFirst: true)
            return false
        }
        if let refusal = moveToAuthenticatedBudget(identity: identity.spiffeID.description) {
            close(reason: refusal, notifyPeer: true, flushFirst: true)
            return false
        }
        let created: H2ServerSession
        do {
            let handler = shared.handler
            created = try H2ServerSession(limits: limits, routeBodyCaps: shared.routeBodyCaps,
                                          bodyBudget: shared.bodyBudget,
                                          clock: ServerShared.monotonicSeconds,
                                          errorBody: { handler.localErrorBody(for: $0) })
        } catch {
            close(reason: .internalError, notifyPeer: true, flushFirst: true)
            return false
        }
        peer = PeerInfo(spiffeID: identity.spiffeID.description, trustDomain: identity.spiffeID.trustDomain,
                        certificateNotAfter: identity.notAfter, certificateSerialHex: identity.serialHex,
                        remoteAddress: remoteAddress, chainRevocationKeys: revocationKeys,
                        trustAnchorDER: anchor)
        peer?.connectionID = shared.connectionSerials.add(1, ordering: .relaxed).newValue
        if let negotiated = core.engine.negotiatedProtocol {
            peer?.tlsVersion = negotiated.version
            peer?.tlsCipher = negotiated.cipher
        }
        session = created
        lifecycle.handshakeCompleted(now: .now(), certificateNotAfter: identity.notAfter,
                                     wallClockNow: Int64(time(nil)))
        shared.counters.established.add(1, ordering: .relaxed)
        rearmLifecycleTimer()
        if context.draining { beginDrain(reason: .serverShutdown) }
        return core.state == .established
    }

    var wantsInput: Bool { session?.wantsRead ?? true }
    var wantsOutput: Bool { session?.wantsWrite ?? false }
    var isFinished: Bool { session?.isClosed ?? false }

    func receive(_ plaintext: UnsafeRawBufferPointer) {
        guard let session else { return }
        var events = session.receive(plaintext)
        handle(events)
        session.recycle(&events)
    }

    func produce(into buffer: inout [UInt8], max: Int) {
        guard let session else { return }
        var events = session.produce(into: &buffer, max: max)
        handle(events)
        session.recycle(&events)
    }

    func inputDrained() {}

    func settled() {
        if !streamWriters.isEmpty { reportStreamProgress() }
        updateTimers()
    }

    func transportEnded(_ end: TransportEnd) {
        switch end {
        case .socketFailed(let error):
            close(reason: error.isPeerGone ? .peerReset : .ioError, notifyPeer: false)
        case .tlsFailed(let error, let alertQueued):
            close(reason: .tls(error.kind), notifyPeer: false, flushFirst: alertQueued)
        case .closedDuringHandshake:
            close(reason: .peerClosedInHandshake, notifyPeer: false)
        case .peerClosed(let closeNotify):
            close(reason: .peerClosed, notifyPeer: closeNotify, flushFirst: closeNotify)
        case .hangup:
            let stopped = shared.stopping.load(ordering: .acquiring)
            close(reason: stopped ? .serverStopped : .peerReset, notifyPeer: stopped)
        case .finished:
            perform(lifecycle.sessionFinished())
        }
    }

    // MARK: - Closing

    /// Ends the connection now: the core sends close_notify if asked, flushes once and closes
    /// the fd; then release the global permit and the per-IP slot, cancel handler tasks and
    /// timers, count and log once. Idempotent.
    func close(reason: CloseReason, notifyPeer: Bool, flushFirst: Bool = false) {
        guard !core.isClosed else { return }
        core.close(notifyPeer: notifyPeer, flushFirst: flushFirst)
        lifecycle.markClosed()
        cancelAllTimers()
        for task in inFlight.values { task.cancel() }
        inFlight.removeAll()
        for writer in streamWriters.values { writer.close() }
        streamWriters.removeAll()
        permit.release()
        releaseBudgets()
        noteClosedForMetrics()
        session?.releaseBodyReservations()
        context.remove(id)
        let age = Double(Deadline.now().nanoseconds - lifecycle.openedAt.nanoseconds) / 1_000_000_000
        shared.connectionClosed(reason: reason, peer: peer, remote: remoteAddress,
                                requests: requestsServed, ageSeconds: age)
    }
}
