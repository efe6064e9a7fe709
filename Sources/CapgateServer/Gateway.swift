import AgentKernel
import CapgateConnection
import CapgateIO
import CapgateTLS
import Foundation

/// `capgate serve`: one kernel behind the mTLS HTTP/2 transport. Owns start-up (validate,
/// build, bind), SIGHUP reloads (certificates, trust bundle, CRL, identity rules) and
/// graceful shutdown.
public final class Gateway: Sendable {
    public let config: ServerConfig
    public let kernel: Kernel
    public let service: KernelService
    public let server: Server
    let configPath: String?
    let logger: any TransportLogger

    /// Builds everything and fails fast on any configuration problem; binds nothing yet.
    public convenience init(config: ServerConfig, configPath: String? = nil,
                            logger: any TransportLogger = StderrTransportLogger()) throws {
        let secret = try SecretFile.loadOrCreate(path: config.secretFile)
        try self.init(config: config, kernel: try KernelFactory.makeKernel(config, secret: secret),
                      configPath: configPath, logger: logger)
    }

    /// Serves a kernel built by the caller (tests and embedders that register their own
    /// drivers or clocks); `config` still supplies listen address, TLS, identities and limits.
    public init(config: ServerConfig, kernel: Kernel, configPath: String? = nil,
                logger: any TransportLogger = StderrTransportLogger()) throws {
        self.config = config
        self.configPath = configPath
        self.logger = logger
        self.kernel = kernel
        service = KernelService(kernel: kernel, identities: config.identities)
        let expiry = CertificateExpiryTracker(warningWindowSeconds: config.certificateExpiryWarning) { message in
            logger.log(.warning, message)
        }
        let transport = ServerTransportConfig(
            host: config.listenHost, port: UInt16(config.listenPort), loops: config.eventLoops ?? EventLoopGroup.defaultLoopCount,
            limits: config.limits,
            tls: .files(certificateChain: config.tls.certificate, privateKey: config.tls.privateKey,
                        trustBundle: config.tls.trustBundle, crl: config.tls.crl),
            localErrorBody: LocalErrorBody.render)
        server = try Server(configuration: transport,
                            handler: KernelRequestHandler(service: service, expiry: expiry), logger: logger)
    }

    /// Binds and starts serving; returns the bound port.
    @discardableResult
    public func start() throws -> UInt16 {
        let port = try server.start()
        logger.log(.info, "capgate listening on \(config.listenHost):\(port) with \(kernel.listCapabilities().count) "
                       + "capabilities; limits: \(config.limits.catalog.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
        return port
    }

    /// SIGHUP: reload TLS material (certificate, key, trust bundle, CRL) and the identity
    /// rules. Each part is validated before it is swapped in; a bad new file is refused
    /// with a log line and the old one stays. Live connections are untouched; new
    /// connections get the new TLS context.
    public func reload() {
        do {
            try server.reloadTLSFromSource()
            logger.log(.info, "reload: TLS material reloaded")
        } catch {
            logger.log(.error, "reload: TLS material refused, keeping the previous one: \(error)")
        }
        guard let path = configPath else { return }
        do {
            let fresh = try ServerConfig.load(path: path)
            service.reloadIdentities(fresh.identities)
            logger.log(.info, "reload: \(fresh.identities.rules.count) identity rules loaded")
        } catch {
            logger.log(.error, "reload: configuration refused, keeping the previous identity rules: \(error)")
        }
    }

    /// Installs SIGTERM/SIGINT (graceful shutdown) and SIGHUP (`reload`).
    public func installSignalHandlers() throws {
        try server.installSignalHandlers(onReload: { [self] in reload() })
    }

    public func shutdown() { server.beginGracefulShutdown() }
    public func waitUntilStopped() { server.waitUntilStopped() }
}
