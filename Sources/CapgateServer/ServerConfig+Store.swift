import CapgatePostgres
import Foundation

/// `[store]`: where the state a fleet must share lives (docs/configuration.md,
/// docs/deployment.md). The default is the embedded single-node store (revocation log and
/// audit database under `state_dir`), exactly as without the table.
public struct StoreSettings: Sendable, Equatable {
    public enum Backend: Sendable, Equatable {
        case sqlite
        case postgres(dsn: String, passwordFile: String?, poolSize: Int)
    }

    public var backend: Backend = .sqlite

    public init() {}

    /// The connection settings, with the password read from `password_file` (first line;
    /// the file must not be readable by group or others, like the secret file).
    public func postgresSettings() throws -> PostgresSettings? {
        guard case .postgres(let dsn, let passwordFile, let poolSize) = backend else { return nil }
        var password: String?
        if let f = passwordFile {
            do {
                password = try SecretFile.load(path: f)
            } catch let e as ConfigError {
                throw ConfigError("store.password_file", e.message)
            }
        }
        return PostgresSettings(dsn: dsn, password: password, poolSize: poolSize)
    }
}

extension ServerConfig {
    /// Reads the optional `[store]` table: `backend = "sqlite" | "postgres"`; with postgres,
    /// `dsn` (a libpq connection string or URI; TLS with `sslmode=verify-full sslrootcert=...`),
    /// `password_file` and `pool_size` (1...64, default 4).
    static func store(_ t: inout Table, resolve: (String) -> String) throws(ConfigError) -> StoreSettings {
        var s = StoreSettings()
        let dsn = try t.optionalString("dsn")
        let passwordFile = try t.optionalString("password_file").map(resolve)
        let pool = try t.optionalInt("pool_size")
        switch try t.optionalString("backend") ?? "sqlite" {
        case "sqlite":
            if dsn != nil { throw ConfigError("store.dsn", "is only used with backend = \"postgres\"") }
            if passwordFile != nil { throw ConfigError("store.password_file", "is only used with backend = \"postgres\"") }
            if pool != nil { throw ConfigError("store.pool_size", "is only used with backend = \"postgres\"") }
        case "postgres":
            guard let dsn, !dsn.isEmpty else { throw ConfigError("store.dsn", "is required with backend = \"postgres\"") }
            if dsn.lowercased().contains("password=") || dsn.range(of: #"://[^/@]*:[^/@]*@"#, options: .regularExpression) != nil {
                throw ConfigError("store.dsn", "must not contain a password; use store.password_file")
            }
            let n = pool ?? 4
            if n < 1 || n > 64 { throw ConfigError("store.pool_size", "must be between 1 and 64") }
            s.backend = .postgres(dsn: dsn, passwordFile: passwordFile, poolSize: n)
        default:
            throw ConfigError("store.backend", "must be \"sqlite\" or \"postgres\"")
        }
        return s
    }
}
