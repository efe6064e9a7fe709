import CapgateStore

/// `[audit]`: where the audit trail lives and how durable an acknowledged action is
/// (docs/audit.md, docs/configuration.md).
public struct AuditSettings: Sendable, Equatable {
    public enum Store: Sendable, Equatable {
        /// The reference's SQLite hash chain; nil path means `<state_dir>/audit.db`.
        case sqlite(path: String?)
        /// The in-memory FIFO of 10,000 traces: lost on restart (tests, throwaway demos).
        case memory
    }

    public var store: Store = .sqlite(path: nil)
    public var durability: SQLiteTraceStore.Durability = .fsync
    /// Records older than `retain_days`, and the oldest beyond `max_bytes`, are pruned with the
    /// reference's checkpoint; nil keeps everything.
    public var retention: AuditRetention?
    /// Deny traces one principal may write per minute (`denial_traces_per_minute`); beyond
    /// it a denial is answered alike but not traced. nil (0 in the file) traces every denial.
    public var denialTracesPerMinute: Int? = 100

    /// The smallest `max_bytes`: a few pages of schema and indexes plus room for records.
    public static let minMaxBytes = 65_536

    public init() {}

    /// The database file for `stateDir`, nil for the memory store.
    public func path(stateDir: String) -> String? {
        guard case .sqlite(let p) = store else { return nil }
        return p ?? stateDir + "/audit.db"
    }
}

extension ServerConfig {
    /// Reads the optional `[audit]` table: `store = "sqlite" | "memory"`, `path`,
    /// `durability = "fsync" | "batch"`, `batch_max_delay_ms` (batch only, 1...1000),
    /// `retain_days` (> 0), `max_bytes` (>= 64 KiB), `denial_traces_per_minute` (>= 0).
    static func audit(_ t: inout Table, resolve: (String) -> String) throws(ConfigError) -> AuditSettings {
        var a = AuditSettings()
        let path = try t.optionalString("path").map(resolve)
        switch try t.optionalString("store") ?? "sqlite" {
        case "sqlite": a.store = .sqlite(path: path)
        case "memory":
            if path != nil { throw ConfigError("audit.path", "is only used with store = \"sqlite\"") }
            a.store = .memory
        default: throw ConfigError("audit.store", "must be \"sqlite\" or \"memory\"")
        }
        let delay = try t.optionalInt("batch_max_delay_ms")
        switch try t.optionalString("durability") ?? "fsync" {
        case "fsync":
            if delay != nil { throw ConfigError("audit.batch_max_delay_ms", "needs durability = \"batch\"") }
        case "batch":
            let ms = delay ?? 50
            if ms < 1 || ms > 1000 { throw ConfigError("audit.batch_max_delay_ms", "must be between 1 and 1000") }
            a.durability = .batch(maxDelayMilliseconds: ms)
        default: throw ConfigError("audit.durability", "must be \"fsync\" or \"batch\"")
        }
        if let days = try t.optionalNumber("retain_days") {
            if !(days > 0 && days <= 36_500) { throw ConfigError("audit.retain_days", "must be > 0 and at most 36500") }
            a.retention = AuditRetention(retainDays: days)
        }
        if let bytes = try t.optionalInt("max_bytes") {
            if bytes < AuditSettings.minMaxBytes {
                throw ConfigError("audit.max_bytes", "must be at least \(AuditSettings.minMaxBytes) (64 KiB)")
            }
            a.retention = AuditRetention(retainDays: a.retention?.retainDays, maxBytes: bytes)
        }
        if let n = try t.optionalInt("denial_traces_per_minute") {
            if n < 0 { throw ConfigError("audit.denial_traces_per_minute", "must be >= 0 (0 traces every denial)") }
            a.denialTracesPerMinute = n == 0 ? nil : n
        }
        if a.store == .memory && a.retention != nil {
            throw ConfigError(a.retention?.retainDays != nil ? "audit.retain_days" : "audit.max_bytes",
                              "is only used with store = \"sqlite\"")
        }
        if a.store == .memory && a.durability != .fsync {
            throw ConfigError("audit.durability", "is only used with store = \"sqlite\"")
        }
        return a
    }
}
