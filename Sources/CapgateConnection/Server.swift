import CapgateCore
import CapgateIO
import CapgateTLS
import Glibc
import Logging
import Synchronization

/// The mTLS HTTP/2 listener: an `EventLoopGroup`, an `Acceptor`, a `ServerConnection` per
/// accepted socket, and the control surface (start, TLS reload, graceful shutdown, counters).
///
/// Start-up order: `init` validates limits and TLS material (fail fast, nothing bound yet);
/// `start()` starts the loops and binds; `waitUntilStopped()` blocks until
/// `beginGracefulShutdown()` (or `stop()`) has finished. Signals are not handled here: the CLI
/// calls `installSignalHandlers(onReload:)` after `SignalWatcher.blockSignals()`.
public final class Server: Sendable {
    /// The configuration this server was built from.
    public let configuration: ServerTransportConfig
    let shared: ServerShared
    let limiter: ConnectionLimiter

    private struct Running {
        var group: EventLoopGroup?
        var acceptor: Acceptor?
        var contexts: [LoopContext] = []
        var started = false
    }

    private let running = Mutex(Running())

    /// Validates everything that can be validated without binding: limits (errors name the
    /// key), loop count, TLS material (key matches leaf, leaf valid now, CRLs signed by the
    /// bundle and fresh).
    public init(configuration: ServerTransportConfig, handler: any RequestHandler,
                logger: Logger = StderrLogHandler.logger()) throws(ServerError) {
        do { try configuration.limits.validate() } catch { throw .invalidLimits(error) }
        guard configuration.loops > 0 else { throw .invalidConfiguration("loops must be at least 1") }
        guard configuration.drainTimeout > 0 else { throw .invalidConfiguration("drainTimeout must be positive") }
        let reloader: CertificateReloader
        let revoked: Set<String>
        do {
            var material = try configuration.tls.load()
            material.allowMissingALPN = configuration.allowMissingALPN
            reloader = try CertificateReloader(material: material)
            revoked = try material.crlPEM.map { pem throws(TLSError) in try CRLSerials.revokedKeys(inPEM: pem) } ?? []
        } catch {
            throw .tls(error)
        }
        self.configuration = configuration
        // The acceptor's cap bounds descriptors: both budgets together (the budgets themselves
        // are enforced by `PreAuthBudget` and `AuthenticatedConnectionLimiter`).
        self.limiter = ConnectionLimiter(maxConnections: configuration.limits.maxConnectionsGlobal
                                         + configuration.limits.maxPreAuthGlobal)
        self.shared = ServerShared(limits: configuration.limits, drainTimeout: configuration.drainTimeout,
                                   handler: handler, logger: logger, reloader: reloader)
        shared.setRevoked(keys: revoked)
    }

    /// Starts the loops, binds and starts accepting. Returns the bound port (useful with
    /// port 0). Callable once.
    @discardableResult
    public func start() throws(ServerError) -> UInt16 {
        try running.withLock { (r) throws(ServerError) -> UInt16 in
            guard !r.started else { throw .alreadyStarted }
            r.started = true
            do throws(DescriptorLimitError) {
                let l = configuration.limits
                try DescriptorLimit.ensure(required: l.requiredDescriptors,
                                           explanation: "maxConnectionsGlobal (\(l.maxConnectionsGlobal)) + "
                                               + "maxPreAuthGlobal (\(l.maxPreAuthGlobal)) + "
                                               + "\(GatewayLimits.descriptorMargin) spare")
            } catch {
                throw .invalidConfiguration(error.description)
            }
            let group: EventLoopGroup
            do throws(IOError) { group = try EventLoopGroup(count: configuration.loops) } catch { throw .io(error) }
            let contexts = group.handles.map { LoopContext(handle: $0) }
            shared.setHandles(group.handles)
            let acceptor: Acceptor
            do throws(IOError) {
                acceptor = try Acceptor(host: configuration.host, port: configuration.port,
                                        backlog: configuration.backlog, on: group.handles[0],
                                        distributingTo: group.handles, limiter: limiter,
                                        onConnection: Self.connectionHandler(shared: shared, contexts: contexts))
            } catch {
                group.shutdown()
                throw .io(error)
            }
            r.group = group
            r.acceptor = acceptor
            r.contexts = contexts
            let l = configuration.limits
            shared.logger.log(.info, "listening on \(configuration.host):\(acceptor.localPort) loops=\(configuration.loops) "
                + "max_connections=\(l.maxConnectionsGlobal) per_ip=\(l.maxConnectionsPerIP) "
                + "per_identity=\(l.maxConnectionsPerIdentity) preauth=\(l.maxPreAuthGlobal) "
                + "preauth_per_source=\(l.maxPreAuthPerSource) "
                + "streams=\(l.maxConcurrentStreams) idle_s=\(l.idleTimeout) tls_generation=\(shared.reloader.generation)")
            return acceptor.localPort
        }
    }

    /// Runs on the receiving loop for every accepted socket: refuse while draining, admit into
    /// the pre-authentication budget (a full budget evicts its oldest silent socket; the
    /// handshake rate is spent by the first bytes), then build the connection with the CURRENT TLS context (a
    /// reload affects new connections only). The authenticated caps are checked once the
    /// handshake has verified an identity (`ServerConnection.transportEstablished`).
    private static func connectionHandler(shared: ServerShared, contexts: [LoopContext]) -> Acceptor.ConnectionHandler {
        { accepted, loop in
            guard let context = contexts.first(where: { $0.handle === loop.handle }),
                  !shared.draining.load(ordering: .acquiring) else {
                accepted.permit.release()
                _ = Glibc.close(accepted.descriptor)
                return
            }
            let ip = PerIPConnectionLimiter.ip(ofPeer: accepted.peer)
            let id = context.allocateID()
            // The eviction runs on this loop after the current task: the connection exists by
            // then (or has closed and left the registry, and the close is a no-op).
            let evict: PreAuthBudget.Evict = { [context] in
                context.handle.execute { _ in context.connection(id)?.evictUnauthenticated() }
            }
            // No handshake token yet: it is taken when the first bytes arrive
            // (`ServerConnection.handshakeInputArrived`), so silent sockets cannot spend them.
            let ticket = shared.preAuth.admit(source: shared.preAuth.source(ofIP: ip),
                                              now: ServerShared.monotonicSeconds(), evict: evict)
            let socket = Socket(adopting: accepted.descriptor)
            shared.counters.active.add(1, ordering: .acquiringAndReleasing)
            let connection: ServerConnection
            do throws(TLSError) {
                let engine = try shared.reloader.current.makeEngine()
                connection = ServerConnection(id: id, socket: socket, engine: engine, loop: loop,
                                              context: context, shared: shared, remoteAddress: accepted.peer,
                                              ip: ip, permit: accepted.permit, preAuthTicket: ticket)
            } catch {
                socket.close()
                accepted.permit.release()
                _ = shared.preAuth.release(ticket: ticket)
                shared.connectionClosed(reason: .tls(error.kind), peer: nil, remote: accepted.peer, requests: 0, ageSeconds: 0)
                return
            }
            do throws(IOError) {
                try connection.start()
            } catch {
                connection.close(reason: .ioError, notifyPeer: false)
            }
        }
    }

    // MARK: - TLS reload

    /// Validates `material` and makes it the context of NEW connections; existing
    /// connections keep theirs, except those whose client certificate the new CRL revokes
    /// (matched by issuer AND serial) or whose chain anchors to a CA the new trust bundle no
    /// longer holds: they get GOAWAY (reason `certificate_revoked` / `trust_anchor_removed`)
    /// and end once in-flight requests finish. A bad set throws and the old one keeps serving.
    public func reloadTLS(_ material: TLSServerMaterial) throws(TLSError) {
        var material = material
        material.allowMissingALPN = configuration.allowMissingALPN  // a reload never changes it
        do throws(TLSError) {
            let revoked = try material.crlPEM.map { pem throws(TLSError) in try CRLSerials.revokedKeys(inPEM: pem) } ?? []
            try shared.reloader.reload(material)
            shared.setRevoked(keys: revoked)
            if !revoked.isEmpty {
                drainConnections(reason: .certificateRevoked) { [shared] peer in
                    shared.isRevoked(anyOf: peer.chainRevocationKeys)
                }
            }
            drainConnections(reason: .trustAnchorRemoved) { [shared] peer in
                !shared.isTrusted(anchorDER: peer.trustAnchorDER)
            }
        } catch {
            shared.logger.log(.error, "TLS reload refused, keeping generation \(shared.reloader.generation): "
                              + "\(error)")
            throw error
        }
        shared.logger.log(.info, "TLS reloaded generation=\(shared.reloader.generation)"
                          + (material.crlPEM == nil ? "" : " crl=on"))
    }

    /// Re-reads the configured source (files) and reloads (the SIGHUP and file-watch action).
    /// Refuses (and keeps the old context) when a CRL was in effect and the new set has none:
    /// turning revocation checking off takes a restart, never a deleted file.
    public func reloadTLSFromSource() throws(TLSError) {
        let material: TLSServerMaterial
        do throws(TLSError) {
            material = try configuration.tls.load()
            if material.crlPEM == nil, shared.reloader.hasCRL {
                throw TLSError(.invalidCRL, "the CRL file disappeared; refusing to turn revocation checking off "
                               + "(restore it, or restart to run without a CRL)")
            }
        } catch {
            shared.logger.log(.error, "TLS reload refused, keeping generation \(shared.reloader.generation): "
                              + "\(error)")
            throw error
        }
        try reloadTLS(material)
    }

    /// Sends GOAWAY to every established connection whose peer matches (on each connection's
    /// own loop); in-flight requests finish within `drainTimeout`. Fire and forget.
    public func drainConnections(reason: CloseReason, where matches: @escaping @Sendable (PeerInfo) -> Bool) {
        let contexts = running.withLock { $0.contexts }
        for context in contexts {
            context.handle.execute { _ in
                let n = context.drain(reason: reason, where: matches)
                if n > 0 { self.shared.logger.log(.info, "drained \(n) connection(s) reason=\(reason)") }
            }
        }
    }

    /// Which TLS material generation new connections get (1, then +1 per reload).
    public var tlsGeneration: UInt64 { shared.reloader.generation }

    /// Whether new connections' client certificates are checked against a CRL (false when
    /// none is configured, or an optional one does not exist yet).
    public var revocationCheckingEnabled: Bool { shared.reloader.hasCRL }

    /// The earliest nextUpdate of the current CRLs (nil: no CRL, or none states one).
    public var crlNextUpdate: Int64? { shared.reloader.crlNextUpdate }

    // MARK: - Shutdown

    /// Stops accepting, sends GOAWAY(NO_ERROR) on every connection, lets in-flight requests
    /// finish (each connection is bounded by `drainTimeout`), then stops the loops.
    /// Idempotent; returns at once (use `waitUntilStopped()`). `listenerClosed` runs (on a
    /// loop thread) once the listening socket is closed and new connections are refused.
    public func beginGracefulShutdown(listenerClosed: (@Sendable () -> Void)? = nil) {
        guard !shared.draining.exchange(true, ordering: .acquiringAndReleasing) else {
            // Already draining: stopAccepting is idempotent and runs the completion after the
            // first close on the acceptor's loop.
            if let acceptor = running.withLock({ $0.acceptor }) {
                acceptor.stopAccepting(completion: listenerClosed)
            } else {
                listenerClosed?()
            }
            return
        }
        let (acceptor, contexts) = running.withLock { ($0.acceptor, $0.contexts) }
        shared.logger.log(.info, "graceful shutdown: draining \(shared.counters.active.load(ordering: .relaxed)) connections")
        guard let acceptor else {
            listenerClosed?()
            return
        }
        acceptor.stopAccepting(completion: listenerClosed)
        for context in contexts {
            context.handle.execute { _ in context.drainAll() }
        }
        shared.stopIfDrained()
    }

    /// Hard stop: every loop stops now; open connections are closed (close_notify, no wait).
    public func stop() {
        shared.draining.store(true, ordering: .releasing)
        shared.stopLoops()
    }

    /// Blocks until every loop has stopped. Returns at once if the server never started.
    public func waitUntilStopped() {
        guard let group = running.withLock({ $0.group }) else { return }
        group.waitUntilStopped()
    }

    /// True until graceful shutdown (or `stop()`) began.
    public var isAcceptingConnections: Bool { !shared.draining.load(ordering: .acquiring) }

    // MARK: - Counters

    /// Connections accepted/active/rejected, requests, ends and trips by reason.
    public var stats: ServerStats {
        let accepted = running.withLock { $0.acceptor?.accepted ?? 0 }
        var s = shared.counters.snapshot(accepted: accepted,
                                         rejectedGlobal: limiter.rejected + shared.authenticated.rejectedGlobal.load(ordering: .relaxed))
        let p = shared.preAuth
        s.rejectedPerIdentity = shared.authenticated.rejectedIdentity.load(ordering: .relaxed)
        s.preAuthActive = p.active
        s.preAuthEvictedSource = p.evictedSource.load(ordering: .relaxed)
        s.preAuthEvictedGlobal = p.evictedGlobal.load(ordering: .relaxed)
        s.handshakeRateLimitedSource = p.rateLimitedSource.load(ordering: .relaxed)
        s.handshakeRateLimitedGlobal = p.rateLimitedGlobal.load(ordering: .relaxed)
        s.handshakesQueuedSource = p.queued.load(ordering: .relaxed)
        s.inFlightHandlers = shared.handlerWork.current
        s.bodyBytesReserved = shared.bodyBudget.reserved
        s.bodyAdmissionsDeferred = shared.bodyBudget.deferrals
        return s
    }

    /// The loop handles (signal set-up, tests). Empty before `start()`.
    public var loopHandles: [EventLoopHandle] { running.withLock { $0.group?.handles ?? [] } }
}

extension Server {
    /// notAfter (Unix seconds) of the server leaf new connections get (expiry warnings).
    public var serverCertificateNotAfter: Int64 { shared.reloader.leafNotAfter }
}

extension Server {
    /// The CAs of the current trust bundle and their notAfter (expiry metrics).
    public var trustAnchorExpiries: [TrustAnchorExpiry] { shared.reloader.trustAnchorExpiries }
}
