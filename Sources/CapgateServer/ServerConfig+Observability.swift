/// `[metrics]` (docs/configuration.md): where the Prometheus scrape listener binds.
public struct MetricsSettings: Sendable, Equatable {
    /// nil: no metrics listener. Loopback addresses only (`MetricsEndpoint`).
    public var listenHost: String?
    public var listenPort: Int = 9464
    /// When true a bind failure is a warning and serving goes on without metrics: the
    /// embedded default of `capgate serve` (two demos on one host both start). A configured
    /// `listen` that cannot bind stops start-up.
    public var optional = false
    /// The embedded default of `capgate serve` without a configuration file.
    public static let defaultListen = "127.0.0.1:9464"
    public init() {}
}

/// `[access_log]` (docs/configuration.md, docs/operations.md "Access log").
public struct AccessLogSettings: Sendable, Equatable {
    public enum Destination: Sendable, Equatable {
        case stderr
        case file(String)
    }
    /// nil: no access log.
    public var destination: Destination?
    public init() {}
}

extension ServerConfig {
    /// `[metrics] listen = "host:port"` (a loopback address; checked again when binding).
    static func metrics(_ t: inout Table) throws(ConfigError) -> MetricsSettings {
        var m = MetricsSettings()
        if let listen = try t.optionalString("listen") {
            let (host, port) = try parseListen(listen, key: "metrics.listen")
            m.listenHost = host
            m.listenPort = port
        }
        return m
    }

    /// `[access_log] enabled = true|false` (default true when the table is present),
    /// `path = "stderr" | "<file>"` (default stderr).
    static func accessLog(_ t: inout Table, resolve: (String) -> String) throws(ConfigError) -> AccessLogSettings {
        var a = AccessLogSettings()
        let path = try t.optionalString("path")
        let enabled = try t.optionalBool("enabled") ?? !t.object.isEmpty
        guard enabled else { return a }
        switch path {
        case nil, "stderr": a.destination = .stderr
        case let p?:
            if p.isEmpty { throw ConfigError("access_log.path", "must be \"stderr\" or a file path") }
            a.destination = .file(resolve(p))
        }
        return a
    }
}
