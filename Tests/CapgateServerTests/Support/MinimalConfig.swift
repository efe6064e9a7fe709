/// The smallest `capgate.toml` that `ServerConfig.parse` accepts: one TLS identity, a secret file and one
/// mapped agent. The config tests append the table they exercise, so each test reads as the keys it is about.
enum MinimalConfig {
    /// The required tables, ending with a newline so a test can append `[section]` lines directly.
    /// `stateDir` adds a `[server]` table first (the audit and store tests resolve paths under it).
    static func text(spiffeID: String = "spiffe://example.org/agent/a", stateDir: String? = nil) -> String {
        var s = stateDir.map { "[server]\nstate_dir = \"\($0)\"\n" } ?? ""
        s += """
            [tls]
            certificate = "s.pem"
            private_key = "s.key"
            trust_bundle = "ca.pem"
            [secret]
            file = "secret"
            [[identity]]
            spiffe_id = "\(spiffeID)"
            principal_id = "a"

            """
        return s
    }
}
