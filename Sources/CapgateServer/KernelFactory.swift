import AgentKernel
import CapgateDrivers
import CapgatePostgres
import CapgateStore
import Foundation

/// Builds the shared kernel a configuration describes: one registry, policy, token
/// provider (with the durable revocation store in the state directory), handle store,
/// trace store (the durable audit chain unless `[audit] store = "memory"`) and per-principal
/// budgets for every connection of the sidecar.
public enum KernelFactory {
    /// `clock` is the sidecar's time for every part (tokens, rate windows, handle expiry,
    /// traces); tests inject a manual one to reach expiry without sleeping.
    /// `driverObserver` (metrics) is told about every driver execution.
    /// `revocations` replaces the revocation store of the configuration (an embedding host, or
    /// the bench's in-memory kernel that is compared with the in-memory reference); the
    /// sidecar never passes it.
    public static func makeKernel(_ config: ServerConfig, secret: String,
                                  clock: any KernelClock = SystemClock(),
                                  driverObserver: DriverCallObserver? = nil,
                                  revocations revocationOverride: (any RevocationStore)? = nil) throws -> Kernel {
        let registry = CapabilityRegistry()
        let router = StaticRouter()
        for entry in config.capabilities {
            try registry.register(entry.capability)
            router.addRoute(entry.capability.capabilityID, entry.drivers)
        }
        try FileManager.default.createDirectory(atPath: config.stateDir, withIntermediateDirectories: true)
        let revocations: any RevocationStore
        var shared: PostgresSharedStore?
        if let revocationOverride {
            revocations = revocationOverride
        } else if let pg = try config.store.postgresSettings() {
            shared = try sharedStore(pg, clock: clock)
            revocations = shared!
        } else {
            revocations = try FileRevocationStore(path: config.stateDir + "/revocations.log", clock: clock)
        }
        let policy: any PolicyEngine
        switch config.policy {
        case .defaultEngine(let limits):
            // A fleet's rate windows count every sidecar's grants (docs/deployment.md).
            let limiter: any RateLimiting = shared.map { PostgresRateLimiter(store: $0, clock: clock) }
                ?? SlidingWindowRateLimiter()
            policy = try DefaultPolicyEngine(rateLimits: limits, clock: clock, limiter: limiter)
        case .dsl(let path): policy = try DeclarativePolicyEngine.fromFile(path: path)
        }
        let tokens = HMACTokenProvider(secret: secret, clock: clock, revocations: revocations)
        let traces: any TraceStoring
        // Budget spends persist in the audit database when there is one (docs/audit.md).
        var budgetStore: any BudgetStoring = InMemoryBudgetStore()
        if let shared, config.audit.store != .memory {
            // A fleet's audit trail: one chain per sidecar run in PostgreSQL (docs/deployment.md).
            // `[audit] retain_days` / `max_bytes` prune every chain (docs/audit.md).
            let retention = config.audit.retention.map { PostgresAuditRetention(retainDays: $0.retainDays, maxBytes: $0.maxBytes) }
            traces = PostgresTraceStore(settings: shared.settings, secret: secret, retention: retention, clock: clock)
        } else if let path = config.audit.path(stateDir: config.stateDir) {
            // Verifies the whole chain first: a corrupted or tampered file stops start-up here.
            let audit = try SQLiteTraceStore(path: path, secret: secret, durability: config.audit.durability,
                                             retention: config.audit.retention, clock: clock)
            traces = audit
            budgetStore = SQLiteBudgetStore(audit: audit)
        } else {
            traces = try TraceStore()
        }
        // A fleet shares its spends in PostgreSQL instead (docs/deployment.md).
        if let shared { budgetStore = shared }
        let budgets: Kernel.BudgetSource
        if let total = config.budgetTotal {
            let sessions = try SessionBudgets(totalBudget: total, defaultRequest: config.budgetDefaultRequest,
                                              store: budgetStore)
            // Another sidecar's spend: this one's manager for the session restarts from the total.
            shared?.setRemoteSpendHandler { [weak sessions] session in sessions?.forget(session) }
            budgets = .perSession(sessions)
        } else {
            budgets = .none
        }
        let kernel = Kernel(registry: registry, policy: policy, tokens: tokens, router: router,
                            handles: try HandleStore(clock: clock), traces: traces, budgets: budgets,
                            denialTraces: try config.audit.denialTracesPerMinute.map { n throws(KernelError) in
                                try DenialTraceLimiter(perWindow: n, windowSeconds: 60)
                            },
                            clock: clock)
        let hostChannels = HostChannelPool()  // one connection per (url, identity)
        for d in config.drivers {
            switch d {
            case .billing(let id):
                kernel.registerDriver(MeasuredDriver.wrap(id == "billing" ? makeBillingDriver()
                                                          : RenamedDriver(id: id, inner: makeBillingDriver()), driverObserver))
            case .staticData(let id, let ops):
                let driver = InMemoryDriver(driverID: id)
                for (op, data) in ops { driver.registerHandler(op) { _ in data } }
                kernel.registerDriver(MeasuredDriver.wrap(driver, driverObserver))
            case .host(let c):
                kernel.registerDriver(MeasuredDriver.wrap(try HostDriver(config: c, pool: hostChannels), driverObserver))
            case .http(let c):
                kernel.registerDriver(MeasuredDriver.wrap(try HTTPDriver(config: c), driverObserver))
            }
        }
        return kernel
    }
}

extension KernelFactory {
    /// How long start-up waits for the first reconcile of the shared revocation list; past
    /// it the sidecar starts degraded (`store_unavailable` until it has reconciled).
    static let firstReconcileTimeout = Duration.seconds(10)

    /// Applies the schema migrations (refusing a newer schema), then starts the shared
    /// revocation list and waits briefly for its first reconcile. Blocking: start-up only.
    static func sharedStore(_ settings: PostgresSettings, clock: any KernelClock) throws -> PostgresSharedStore {
        do {
            try PostgresSchema.migrate(try PostgresConnection(settings))
        } catch {
            throw ConfigError("store", error.description)
        }
        let store = PostgresSharedStore(settings: settings, clock: clock)
        _ = store.waitUntilAvailable(timeout: firstReconcileTimeout)
        return store
    }
}

/// Serves another driver's operations under a different id.
struct RenamedDriver: Driver {
    let id: String
    let inner: any Driver
    var driverID: String { id }
    func execute(_ ctx: ExecutionContext) async throws -> RawResult { try await inner.execute(ctx) }
}

/// The HMAC secret file: one line of text used as the key exactly like the reference's
/// `WEAVER_KERNEL_SECRET`. Created 0600 with 256 random bits on first start.
public enum SecretFile {
    public static func loadOrCreate(path: String) throws -> String {
        if FileManager.default.fileExists(atPath: path) { return try load(path: path) }
        var rng = SystemRandomNumberGenerator()  // the OS CSPRNG (getrandom)
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ConfigError("secret.file", "cannot create \(path): errno \(errno)") }
        defer { close(fd) }
        let line = Array((hex + "\n").utf8)
        guard line.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == line.count else {
            throw ConfigError("secret.file", "cannot write \(path)")
        }
        return hex
    }

    /// Reads the first line; refuses an empty secret and a file others can read.
    public static func load(path: String) throws -> String {
        var st = stat()
        guard stat(path, &st) == 0 else { throw ConfigError("secret.file", "cannot stat \(path)") }
        if st.st_mode & 0o077 != 0 {
            throw ConfigError("secret.file", "\(path) is readable by group or others; chmod 600 it")
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let secret = line.hasSuffix("\r") ? String(line.dropLast()) : line
        guard !secret.isEmpty else { throw ConfigError("secret.file", "\(path) is empty") }
        return secret
    }
}

