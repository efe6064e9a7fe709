import CapgateServer
import CapgateStore
import Testing

/// `[audit]` (docs/configuration.md): durable by default, every key checked and named.
struct AuditConfigTests {
    static let base = """
        [server]
        state_dir = "state"
        [tls]
        certificate = "s.pem"
        private_key = "s.key"
        trust_bundle = "ca.pem"
        [secret]
        file = "secret"
        [[identity]]
        spiffe_id = "spiffe://example.org/agent/a"
        principal_id = "a"

        """

    @Test func theDefaultIsTheDurableChainInTheStateDirectory() throws {
        let c = try ServerConfig.parse(Self.base, baseDirectory: "/etc/capgate")
        #expect(c.audit.path(stateDir: c.stateDir) == "/etc/capgate/state/audit.db")
        #expect(c.audit.durability == .fsync)
    }

    @Test func keysAreParsedAndResolved() throws {
        let c = try ServerConfig.parse(Self.base + "[audit]\npath = \"a/audit.db\"\ndurability = \"batch\"\nbatch_max_delay_ms = 20\n",
                                       baseDirectory: "/etc/capgate")
        #expect(c.audit.path(stateDir: c.stateDir) == "/etc/capgate/a/audit.db")
        #expect(c.audit.durability == .batch(maxDelayMilliseconds: 20))
        #expect(c.audit.retention == nil)
        let r = try ServerConfig.parse(Self.base + "[audit]\nretain_days = 30\n", baseDirectory: "/")
        #expect(r.audit.retention == AuditRetention(retainDays: 30))
        let m = try ServerConfig.parse(Self.base + "[audit]\nstore = \"memory\"\n", baseDirectory: "/")
        #expect(m.audit.path(stateDir: m.stateDir) == nil)
    }

    @Test(arguments: [
        ("store = \"disk\"", "audit.store"),
        ("durability = \"never\"", "audit.durability"),
        ("batch_max_delay_ms = 5", "audit.batch_max_delay_ms"),
        ("durability = \"batch\"\nbatch_max_delay_ms = 5000", "audit.batch_max_delay_ms"),
        ("store = \"memory\"\npath = \"x.db\"", "audit.path"),
        ("retain = 3", "audit.retain"),
        ("retain_days = 0", "audit.retain_days"),
        ("store = \"memory\"\nretain_days = 3", "audit.retain_days"),
    ])
    func badValuesNameTheirKey(_ body: String, _ key: String) {
        #expect {
            _ = try ServerConfig.parse(Self.base + "[audit]\n" + body + "\n", baseDirectory: "/")
        } throws: { e in (e as? ConfigError)?.key == key }
    }
}
