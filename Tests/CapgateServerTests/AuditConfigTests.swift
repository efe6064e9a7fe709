import CapgateServer
import CapgateStore
import Testing

/// `[audit]` (docs/configuration.md): durable by default, every key checked and named.
struct AuditConfigTests {
    static let base = MinimalConfig.text(stateDir: "state")

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
        #expect(r.audit.denialTracesPerMinute == 100)
        let b = try ServerConfig.parse(Self.base + "[audit]\nretain_days = 7\nmax_bytes = 1048576\ndenial_traces_per_minute = 5\n",
                                       baseDirectory: "/")
        #expect(b.audit.retention == AuditRetention(retainDays: 7, maxBytes: 1_048_576))
        #expect(b.audit.denialTracesPerMinute == 5)
        let s = try ServerConfig.parse(Self.base + "[audit]\nmax_bytes = 65536\ndenial_traces_per_minute = 0\n",
                                       baseDirectory: "/")
        #expect(s.audit.retention == AuditRetention(maxBytes: 65_536))
        #expect(s.audit.denialTracesPerMinute == nil)
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
        ("max_bytes = 65535", "audit.max_bytes"),
        ("store = \"memory\"\nmax_bytes = 1000000", "audit.max_bytes"),
        ("denial_traces_per_minute = -1", "audit.denial_traces_per_minute"),
    ])
    func badValuesNameTheirKey(_ body: String, _ key: String) {
        #expect {
            _ = try ServerConfig.parse(Self.base + "[audit]\n" + body + "\n", baseDirectory: "/")
        } throws: { e in (e as? ConfigError)?.key == key }
    }
}
