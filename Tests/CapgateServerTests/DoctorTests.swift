import AgentKernel
import CapgatePKI
import CapgateServer
import CapgateTesting
import Foundation
import Testing

/// `capgate doctor` on a good configuration and on broken ones: each break is named by a
/// failing check, and the command exits 1 exactly when something fails.
@Suite(.timeLimit(.minutes(2)))
struct DoctorTests {
    /// The demo's files in a fresh state dir (PKI with a CRL, a secret), as `serve` leaves them.
    static func demo() throws -> (ServerConfig, String) {
        let dir = try makeTempDirectory("doctor")
        let config = try DemoConfig.prepare(stateDir: dir, host: "127.0.0.1", port: 0)
        _ = try SecretFile.loadOrCreate(path: config.secretFile)
        return (config, dir)
    }

    static func level(_ checks: [Doctor.Check], _ name: String) -> Doctor.Level? {
        checks.filter { $0.name == name }.map(\.level).max()
    }

    @Test func aGoodConfigurationPasses() throws {
        let (config, dir) = try Self.demo()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let checks = Doctor.run(config)
        #expect(!checks.contains { $0.level == .fail }, "\(checks)")
        for name in ["trust_bundle", "server_certificate", "server_key", "server_chain", "key_permissions", "crl",
                     "state_dir", "secret", "audit_store", "kill_switches", "listen"] {
            #expect(Self.level(checks, name) == .ok, "\(name): \(checks.filter { $0.name == name })")
        }
    }

    @Test func keyReadableByOthersFails() throws {
        let (config, dir) = try Self.demo()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(config.tls.privateKey, 0o644)
        let checks = Doctor.run(config, checkPort: false)
        #expect(Self.level(checks, "key_permissions") == .fail)
        #expect(checks.first { $0.name == "key_permissions" }?.detail.contains("644") == true)
    }

    /// The dev CRL is valid 7 days and the server certificate 90: eight days on, the CRL is
    /// stale while the certificate is fine; past the certificate's notAfter it is expired.
    @Test func staleCRLAndExpiredCertificateFail() throws {
        let (config, dir) = try Self.demo()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let now = Int64(Date().timeIntervalSince1970)
        let week = Doctor.run(config, now: now + 8 * 86_400, checkPort: false)
        #expect(Self.level(week, "crl") == .fail)
        #expect(week.first { $0.name == "crl" }?.detail.contains("STALE") == true)
        #expect(Self.level(week, "server_certificate") == .ok)
        let leaf = try #require(try Certificate.all(pem: Array(Data(contentsOf: URL(fileURLWithPath:
            config.tls.certificate)))).first)
        let later = Doctor.run(config, now: leaf.notAfter + 60, checkPort: false)
        #expect(Self.level(later, "server_certificate") == .fail)
        #expect(later.first { $0.name == "server_certificate" }?.detail.contains("EXPIRED") == true)
        // Within the warning window: a warning, not a failure.
        let soon = Doctor.run(config, now: leaf.notAfter - 3600, checkPort: false)
        #expect(Self.level(soon, "server_certificate") == .warn)
    }

    @Test func missingSecretWithExistingStateFails() throws {
        let (config, dir) = try Self.demo()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.removeItem(atPath: config.secretFile)
        // A first start: serve would create it.
        #expect(Self.level(Doctor.run(config, checkPort: false), "secret") == .warn)
        // Once there is state bound to the old secret, a new one would not verify it.
        FileManager.default.createFile(atPath: config.stateDir + "/revocations.log", contents: Data())
        let checks = Doctor.run(config, checkPort: false)
        #expect(Self.level(checks, "secret") == .fail)
        // A secret others can read fails too.
        _ = try SecretFile.loadOrCreate(path: config.secretFile)
        chmod(config.secretFile, 0o640)
        #expect(Self.level(Doctor.run(config, checkPort: false), "secret") == .fail)
    }

    @Test func aWrongKeyACRLFromElsewhereAndABusyPortFail() async throws {
        let (config, dir) = try Self.demo()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var broken = config
        broken.tls.privateKey = config.stateDir + "/pki/agents/alice.key"
        #expect(Self.level(Doctor.run(broken, checkPort: false), "server_key") == .fail)
        // A CRL signed by another CA.
        let other = try makeTempDirectory("doctor-other")
        defer { try? FileManager.default.removeItem(atPath: other) }
        _ = try DemoConfig.prepare(stateDir: other, host: "127.0.0.1", port: 0)
        broken = config
        broken.tls.crl = other + "/pki/crl.pem"
        #expect(Self.level(Doctor.run(broken, checkPort: false), "crl") == .fail)
        // A damaged kill-switch file would stop the start.
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: config.stateDir + "/" + KillSwitches.fileName))
        #expect(Self.level(Doctor.run(config, checkPort: false), "kill_switches") == .fail)
        // A port someone listens on.
        let gw = try GatewayFixture()
        var busy = config
        busy.listenPort = Int(gw.port)
        let listen = Self.level(Doctor.run(busy), "listen")
        await gw.stop()
        #expect(listen == .fail)
    }

    /// The command: one line per check, exit 0 on a good configuration, 1 on a broken one.
    @Test func theCommandPrintsOneLinePerCheckAndExitsOneOnAFail() async throws {
        let (config, dir) = try Self.demo()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let capgate = try #require(Products.executable("capgate"), "capgate is not built")
        let toml = """
            [server]
            listen = "127.0.0.1:0"
            state_dir = "\(dir)"
            [tls]
            certificate = "\(config.tls.certificate)"
            private_key = "\(config.tls.privateKey)"
            trust_bundle = "\(config.tls.trustBundle)"
            crl = "\(config.tls.crl ?? "")"
            [secret]
            file = "\(config.secretFile)"
            [[identity]]
            spiffe_id = "spiffe://capgate.local/agent/ops"
            principal_id = "ops"
            roles = ["admin"]

            """
        let file = dir + "/capgate.toml"
        try toml.write(toFile: file, atomically: true, encoding: .utf8)
        let good = try await runProcess(capgate, ["doctor", file])
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        let lines = good.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("ok    config") == true, "\(good.stdout)")
        #expect(lines.allSatisfy { $0.hasPrefix("ok ") || $0.hasPrefix("warn ") }, "\(good.stdout)")
        chmod(config.tls.privateKey, 0o640)
        let bad = try await runProcess(capgate, ["doctor", file, "--json"])
        #expect(bad.status == 1, "\(bad.stdout)\(bad.stderr)")
        let checks = try JSONParser.parse(bad.stdout).arrayValue ?? []
        #expect(checks.contains { $0["check"] == "key_permissions" && $0["status"] == "fail" }, "\(bad.stdout)")
        let missing = try await runProcess(capgate, ["doctor", dir + "/nope.toml"])
        #expect(missing.status == 1 && missing.stdout.hasPrefix("fail  config"), "\(missing.stdout)")
    }
}
