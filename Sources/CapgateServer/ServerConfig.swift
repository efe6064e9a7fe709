import AgentKernel
import CapgateCore
import CapgateDrivers

/// Everything `capgate serve` needs, from one TOML file (or the embedded demo).
/// `ServerConfig.load` validates at start-up and fails fast with the offending key.
public struct ServerConfig: Sendable {
    public struct TLSFiles: Sendable, Equatable {
        public var certificate: String
        public var privateKey: String
        public var trustBundle: String
        /// Optional CRL; when set, client certificates are checked against it.
        public var crl: String?
        /// When true, `crl` is used only while the file exists (the `capgate pki` layout, where
        /// `crl.pem` appears later); a reload picks it up. When false, it must exist at start.
        public var crlOptional: Bool = false
        /// `[[trust_domain]]`: per-trust-domain CA bundles (docs/configuration.md).
        public var trustDomains: [TrustDomain] = []
        /// Not a configuration-file key: `capgate serve --allow-missing-alpn` only, for TLS
        /// scanners that cannot offer ALPN (docs/hardening.md, "TLS scan"). False: a
        /// ClientHello without ALPN h2 is refused.
        public var allowMissingALPN = false

        public init(certificate: String, privateKey: String, trustBundle: String, crl: String? = nil,
                    crlOptional: Bool = false) {
            self.certificate = certificate
            self.privateKey = privateKey
            self.trustBundle = trustBundle
            self.crl = crl
            self.crlOptional = crlOptional
        }
    }

    /// A capability and the drivers it routes to, in fallback order.
    public struct CapabilityEntry: Sendable {
        public var capability: Capability
        public var drivers: [String]
        public init(capability: Capability, drivers: [String]) {
            self.capability = capability
            self.drivers = drivers
        }
    }

    /// A driver the sidecar hosts.
    public enum DriverEntry: Sendable {
        /// The reference's billing driver (id `billing` unless renamed).
        case billing(id: String)
        /// Operation -> fixed JSON result.
        case staticData(id: String, operations: [String: JSONValue])
        /// A tool reached over HTTP(S) (docs/drivers.md).
        case http(HTTPDriverConfig)
        /// A driver in a driver-host process (docs/drivers.md).
        case host(HostDriverConfig)
        public var id: String {
            switch self {
            case .billing(let id), .staticData(let id, _): return id
            case .http(let c): return c.id
            case .host(let c): return c.id
            }
        }
    }

    public enum PolicyEntry: Sendable {
        case defaultEngine(rateLimits: [SafetyClass: RateLimit])
        /// A reference DSL policy file (TOML, YAML or JSON by extension).
        case dsl(path: String)
    }

    public var listenHost = "127.0.0.1"
    public var listenPort = 8443
    public var stateDir = "./.capgate"
    /// Event loops; nil means one per core.
    public var eventLoops: Int?
    public var tls: TLSFiles
    public var secretFile: String
    public var identities: IdentityMap
    public var capabilities: [CapabilityEntry]
    public var drivers: [DriverEntry]
    public var policy: PolicyEntry = .defaultEngine(rateLimits: [:])
    /// Per-principal output budget (docs/reference-semantics.md §8.5); nil disables budgets.
    public var budgetTotal: Int? = 100_000
    public var budgetDefaultRequest = 4000
    public var limits = GatewayLimits()
    /// Warn when a connecting identity's certificate expires within this many seconds.
    public var certificateExpiryWarning: Double = 7 * 86_400
    /// Warn when a CRL reaches its nextUpdate within this many seconds (after it, every
    /// client handshake fails: revocation is fail-closed).
    public var crlExpiryWarning: Double = 86_400
    /// Seconds between two stat(2) polls of the watched files (TLS material, CRL, this
    /// configuration file); a change reloads once it is stable for one interval. 0 disables
    /// watching (SIGHUP still reloads). See `FileWatcher` for why polling, not inotify.
    public var watchInterval: Double = 2
    /// The audit trail (`[audit]`): by default the durable SQLite chain in the state directory.
    public var audit = AuditSettings()
    /// `[store]`: embedded (SQLite and local files) or shared by a fleet on PostgreSQL.
    public var store = StoreSettings()
    /// `[metrics]`: the Prometheus scrape listener (off unless configured; docs/operations.md).
    public var metrics = MetricsSettings()
    /// `[access_log]`: one JSON line per request (off unless configured; docs/operations.md).
    public var accessLog = AccessLogSettings()

    public init(tls: TLSFiles, secretFile: String, identities: IdentityMap, capabilities: [CapabilityEntry],
                drivers: [DriverEntry]) {
        self.tls = tls
        self.secretFile = secretFile
        self.identities = identities
        self.capabilities = capabilities
        self.drivers = drivers
    }
}

/// A configuration problem, naming the key (`tls.certificate`, `capabilities[2].safety_class`).
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var message: String
    public init(_ key: String, _ message: String) {
        self.key = key
        self.message = message
    }
    public var description: String { key.isEmpty ? message : "\(key): \(message)" }
}
