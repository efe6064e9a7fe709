import AgentKernel
import CapgateConnection
import CapgateIO
import CapgateMetrics
import CapgatePostgres
import CapgateStore
import CapgateTLS
import Foundation
import Logging
import Synchronization

/// `capgate serve`: one kernel behind the mTLS HTTP/2 transport. Owns start-up (validate,
/// build, bind), reloads (SIGHUP and watched-file changes: certificates, trust bundle, CRL,
/// identity rules; see `Gateway+Reload.swift`) and graceful shutdown.
public final class Gateway: Sendable {
    public let config: ServerConfig
    public let kernel: Kernel
    public let service: KernelService
    public let server: Server
    /// Per-identity client certificate expiry (warnings, metrics).
    public let expiry: CertificateExpiryTracker
    let configPath: String?
    let logger: Logger
    /// Serializes reloads (SIGHUP, the watcher and API callers may race).
    let reloadLock = Mutex<Void>(())
    let watcherBox = Mutex<FileWatcher?>(nil)
    /// CRL freshness warning state (`Gateway+Revocation.swift`).
    let revocationWarnings: Mutex<RevocationWarnings>
    /// Metrics (docs/operations.md): always recorded; served when `[metrics] listen` is set.
    public let metrics: GatewayMetrics
    /// The access log, when `[access_log]` enables it.
    public let accessLog: AccessLog?
    /// The running scrape listener (`start()` to `waitUntilStopped()`: it serves during a drain).
    let metricsEndpoint = Mutex<MetricsEndpoint?>(nil)
    /// When this gateway was built (Unix seconds; `status`'s uptime).
    public let startedAt: Int64

    /// Builds everything and fails fast on any configuration problem; binds nothing yet.
    public convenience init(config: ServerConfig, configPath: String? = nil,
                            logger: Logger = StderrLogHandler.logger()) throws {
        let secret = try SecretFile.loadOrCreate(path: config.secretFile)
        let metrics = GatewayMetrics()
        let kernel = try KernelFactory.makeKernel(config, secret: secret, driverObserver: { driver, outcome, seconds in
            metrics.recordDriverCall(driver: driver, outcome: outcome, seconds: seconds)
        })
        try self.init(config: config, kernel: kernel, configPath: configPath, logger: logger, metrics: metrics)
    }

    /// Serves a kernel built by the caller (tests and embedders that register their own
    /// drivers or clocks); `config` still supplies listen address, TLS, identities and limits.
    /// `metrics`: the registry the kernel's drivers already report to, if any.
    public init(config: ServerConfig, kernel: Kernel, configPath: String? = nil,
                logger: Logger = StderrLogHandler.logger(), metrics: GatewayMetrics = GatewayMetrics()) throws {
        self.config = config
        self.metrics = metrics
        let accessLog = try config.accessLog.destination.map { (d) throws(ConfigError) in try AccessLog(destination: d) }
        self.accessLog = accessLog
        self.configPath = configPath
        self.logger = logger
        self.kernel = kernel
        revocationWarnings = Mutex(RevocationWarnings(windowSeconds: config.crlExpiryWarning))
        startedAt = Int64(Date().timeIntervalSince1970)
        // The kill switches persisted by an earlier run are in force before the first request.
        service = KernelService(kernel: kernel, identities: config.identities,
                                killSwitches: try KillSwitches(stateDir: config.stateDir))
        expiry = CertificateExpiryTracker(warningWindowSeconds: config.certificateExpiryWarning) { message in
            logger.log(.warning, message)
        }
        var transport = ServerTransportConfig(
            host: config.listenHost, port: UInt16(config.listenPort), loops: config.eventLoops ?? EventLoopGroup.defaultLoopCount,
            limits: config.limits, tls: Self.tlsSource(config.tls))
        transport.allowMissingALPN = config.tls.allowMissingALPN
        if transport.allowMissingALPN {
            logger.log(.warning, "--allow-missing-alpn: TLS clients that offer no ALPN are accepted (for TLS "
                       + "scanners only; a client offering ALPN without h2 is still refused)")
        }
        service.setAuditWaitObserver { seconds in metrics.recordAuditWait(seconds: seconds) }
        let handler = KernelRequestHandler(service: service, expiry: expiry, limits: config.limits) { record in
            metrics.record(record)
            accessLog?.write(record)
        }
        server = try Server(configuration: transport, handler: handler, logger: logger)
        metrics.collect(from: self)
        service.setStatusSource { [weak self] in self?.statusParts() ?? [:] }
    }

    /// The transport's view of `[tls]`: an optional CRL (capgate pki layout) is read only while
    /// the file exists.
    static func tlsSource(_ tls: ServerConfig.TLSFiles) -> TLSMaterialSource {
        let base: TLSMaterialSource
        if tls.crlOptional, let crl = tls.crl {
            base = .filesWithOptionalCRL(certificateChain: tls.certificate, privateKey: tls.privateKey,
                                         trustBundle: tls.trustBundle, crlIfPresent: crl)
        } else {
            base = .files(certificateChain: tls.certificate, privateKey: tls.privateKey, trustBundle: tls.trustBundle,
                          crl: tls.crl)
        }
        // `[[trust_domain]]` bundles: each CA vouches only for its trust domain.
        guard !tls.trustDomains.isEmpty else { return base }
        return .withTrustDomains(base, tls.trustDomains.map { TrustDomainBundleFile(name: $0.name, bundle: $0.bundle) })
    }

    /// Binds and starts serving (and watching files, unless `watchInterval` is 0); returns the
    /// bound port.
    @discardableResult
    public func start() throws -> UInt16 {
        let port = try server.start()
        do { try startMetricsEndpoint() } catch {
            server.stop()
            server.waitUntilStopped()
            throw error
        }
        logger.log(.info, "capgate listening on \(config.listenHost):\(port) with \(kernel.listCapabilities().count) "
                       + "capabilities; limits: \(config.limits.catalog.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
        // Which chain of the fleet's trail is this sidecar's (`capgate audit list --config`).
        if let fleet = kernel.traces as? PostgresTraceStore {
            logger.log(.info, "audit chain \(fleet.chainID) in PostgreSQL")
        }
        warnIfServerCertificateExpiresSoon()
        checkRevocation()
        if let loop = server.loopHandles.first { startRevocationChecks(on: loop) }
        if config.watchInterval > 0, let loop = server.loopHandles.first {
            let watcher = makeWatcher()
            watcherBox.withLock { $0 = watcher }
            watcher.start(on: loop)
            logger.log(.info, "watching \(watcher.paths.count) files every \(config.watchInterval)s for reload")
        }
        return port
    }

    /// Installs SIGTERM/SIGINT (graceful shutdown) and SIGHUP (`reload`).
    public func installSignalHandlers() throws {
        try server.installSignalHandlers(onReload: { [self] in reload() })
    }

    public func shutdown() {
        watcherBox.withLock { $0?.stop() }
        server.beginGracefulShutdown()
    }

    /// Waits for the loops, then drains and closes a durable audit store and the revocation log
    /// (every request has answered, so nothing records after this). Closing explicitly releases
    /// their file locks now: a task finishing late must not keep a restart from opening them.
    /// A fleet sidecar drains its PostgreSQL writers the same way (issued-token rows and rate
    /// notifications are not awaited by requests), audit first, and its closing shared store
    /// retires this run's budget rows (`PostgresSharedStore.close`, docs/deployment.md).
    public func waitUntilStopped() {
        server.waitUntilStopped()
        stopMetricsEndpoint()
        (kernel.traces as? SQLiteTraceStore)?.close()
        (kernel.tokens.revocationStore as? FileRevocationStore)?.closeLog()
        (kernel.traces as? PostgresTraceStore)?.close()
        service.fleetStore?.close()
    }

    // MARK: - Certificate expiry

    /// Per identity, the client certificate last seen on a request: serial, notAfter and
    /// seconds left (negative once expired), sorted by identity. For metrics.
    public func certificateExpiry() -> [CertificateExpiry] { expiry.snapshot() }

    /// The serving certificate's notAfter (Unix seconds), current TLS generation.
    public var serverCertificateNotAfter: Int64 { server.serverCertificateNotAfter }

    func warnIfServerCertificateExpiresSoon() {
        let left = server.serverCertificateNotAfter - Int64(Date().timeIntervalSince1970)
        if Double(left) <= config.certificateExpiryWarning {
            logger.log(.warning, "server certificate expires in \(max(0, left) / 3600)h: rotate it "
                       + "(capgate pki server, then it is picked up without restart)")
        }
    }
}
