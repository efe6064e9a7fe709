import AgentKernel
import CapgateDrivers

extension ServerConfig {
    /// The keys of a `type = "host"` driver (docs/configuration.md, docs/drivers.md). Paths
    /// resolve against the configuration file's directory; `ca_file` defaults to the gateway's
    /// trust bundle. Files are read when the kernel is built (`KernelFactory`), so
    /// `check-config` also reports a missing certificate.
    static func hostDriver(_ t: inout Table, id: String, key: String, resolve: (String) -> String,
                           defaultCA: String) throws(ConfigError) -> HostDriverConfig {
        var config = HostDriverConfig(
            id: id, url: try t.string("url"), identity: try t.string("identity"),
            caFile: try t.optionalString("ca_file").map(resolve) ?? defaultCA,
            clientCertificate: resolve(try t.string("client_certificate")),
            clientPrivateKey: resolve(try t.string("client_private_key")))
        if config.caFile.isEmpty {
            throw ConfigError("\(key).ca_file", "is required when tls.trust_bundle is not set")
        }
        if let s = try t.optionalNumber("timeout_s") { config.timeoutSeconds = s }
        if let m = try t.optionalInt("max_response_bytes") { config.maxResponseBytes = m }
        if let problem = config.validationError() {
            let field = problem.prefix { $0 != ":" }
            throw ConfigError("\(key).\(field)", String(problem.dropFirst(field.count + 2)))
        }
        return config
    }
}
