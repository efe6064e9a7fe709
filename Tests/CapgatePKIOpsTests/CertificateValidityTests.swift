import CapgateClient
import CapgateConnection
import CapgatePKI
import CapgateServer
import Foundation
import Synchronization
import Testing

/// Validity windows: expired and not-yet-valid client certificates are refused at the
/// handshake; expiring ones are warned about and reported per identity; a connection does not
/// outlive its client certificate.
@Suite("Certificate validity and expiry")
struct CertificateValidityTests {
    /// Writes a leaf for `spiffe://capgate.local/agent/NAME` with the given window, signed by the
    /// fixture's CA, next to the agent files; returns (cert, key) paths.
    private func writeLeaf(_ f: GatewayFixture, name: String, notBefore: Int64, notAfter: Int64) throws -> (String, String) {
        let ca = try f.pki.loadCA()
        var spec = LeafSpec(commonName: name, notBefore: notBefore, notAfter: notAfter)
        spec.uriSANs = ["spiffe://capgate.local/agent/\(name)"]
        let issued = try ca.issueLeaf(spec)
        let cert = f.dir.file("\(name)-window.pem")
        let key = f.dir.file("\(name)-window.key")
        try Data(try issued.certificate.pemBytes()).write(to: URL(fileURLWithPath: cert))
        try Data(try issued.privateKey.pemBytes()).write(to: URL(fileURLWithPath: key))
        return (cert, key)
    }

    private var now: Int64 { Int64(Date().timeIntervalSince1970) }

    @Test func expiredCertificateIsRefused() async throws {
        let f = try GatewayFixture()
        defer { f.stop() }
        let (cert, key) = try writeLeaf(f, name: "alice", notBefore: now - 7200, notAfter: now - 3600)
        #expect(await f.refused(certificate: cert, key: key))
        await f.logger.waitForLine(containing: "reason=tls_peer_verification_failed")
        #expect(f.gateway.server.stats.established == 0)
    }

    @Test func notYetValidCertificateIsRefused() async throws {
        let f = try GatewayFixture()
        defer { f.stop() }
        let (cert, key) = try writeLeaf(f, name: "alice", notBefore: now + 3600, notAfter: now + 7200)
        #expect(await f.refused(certificate: cert, key: key))
        await f.logger.waitForLine(containing: "reason=tls_peer_verification_failed")
        // The same identity with a current window is accepted: only the window differed.
        let (good, goodKey) = try writeLeaf(f, name: "alice", notBefore: now - 60, notAfter: now + 7200)
        let client = try f.client(certificate: good, key: goodKey)
        defer { client.close() }
        #expect(await f.works(client))
    }

    /// A certificate expiring inside the window logs one warning and shows up in
    /// `certificateExpiry()`; one far from expiry does not warn.
    @Test func expiryWarningAndPerIdentityExpiry() async throws {
        let f = try GatewayFixture { $0.certificateExpiryWarning = 2 * 86_400 }
        defer { f.stop() }
        let soon = try f.pki.issueAgent(name: "alice", ttl: .seconds(86_400))  // inside 2 days
        let alice = try f.client(agent: "alice")
        defer { alice.close() }
        let bob = try f.client(agent: "bob")  // the demo's 30-day certificate: outside the window
        defer { bob.close() }
        #expect(await f.works(alice))
        #expect(await f.works(bob))

        let line = await f.logger.waitForLine(containing: "certificate of spiffe://capgate.local/agent/alice")
        #expect(line.hasPrefix("warning:"))
        #expect(line.contains(soon.certificate.serialHex))
        #expect(f.logger.count(containing: "certificate of spiffe://capgate.local/agent/bob") == 0)
        #expect(await f.works(alice))  // warned once an hour, not per request
        #expect(f.logger.count(containing: "certificate of spiffe://capgate.local/agent/alice") == 1)

        let expiry = f.gateway.certificateExpiry()
        try #require(expiry.map(\.identity) == ["spiffe://capgate.local/agent/alice", "spiffe://capgate.local/agent/bob"])
        #expect(expiry[0].serialHex == soon.certificate.serialHex)
        #expect(expiry[0].notAfter == soon.certificate.notAfter)
        #expect(expiry[0].secondsRemaining > 86_000 && expiry[0].secondsRemaining <= 86_400)
        #expect(expiry[1].secondsRemaining > 20 * 86_400)
    }

    /// `[certificates] expiry_warning_days` and `watch_interval_seconds` are read and validated.
    @Test func certificatesSectionIsParsed() throws {
        let base = """
            [tls]
            certificate = "s.pem"
            private_key = "s.key"
            trust_bundle = "ca.pem"
            crl = "crl.pem"
            crl_optional = true
            [secret]
            file = "secret"
            [[identity]]
            spiffe_id = "spiffe://example.org/agent/a"
            principal_id = "a"

            """
        let config = try ServerConfig.parse(base + "[certificates]\nexpiry_warning_days = 1.5\nwatch_interval_seconds = 0.5\n",
                                            baseDirectory: "/etc/capgate")
        #expect(config.certificateExpiryWarning == 1.5 * 86_400)
        #expect(config.watchInterval == 0.5)
        #expect(config.tls.crl == "/etc/capgate/crl.pem")
        #expect(config.tls.crlOptional)
        #expect(throws: ConfigError.self) {
            try ServerConfig.parse(base + "[certificates]\nexpiry_warning_days = -1\n", baseDirectory: "/")
        }
        #expect(throws: ConfigError.self) {
            try ServerConfig.parse(base + "[certificates]\nwatch_interval_seconds = 7200\n", baseDirectory: "/")
        }
        let defaults = try ServerConfig.parse(base, baseDirectory: "/")
        #expect(defaults.certificateExpiryWarning == 7 * 86_400)
        #expect(defaults.watchInterval == 2)
    }

    /// The tracker alone, with an injected clock: warns inside the window, once per hour per
    /// certificate, again for a new serial.
    @Test func trackerWarnsOncePerHourAndPerSerial() {
        let clock = ClockBox(1_000_000)
        let warnings = WarningSink()
        let tracker = CertificateExpiryTracker(warningWindowSeconds: 3600, now: { clock.value }) { warnings.append($0) }
        tracker.observe(identity: "spiffe://td/agent/a", notAfter: 1_000_000 + 7200, serial: "01")
        #expect(warnings.count == 0)
        tracker.observe(identity: "spiffe://td/agent/a", notAfter: 1_000_000 + 1800, serial: "02")
        #expect(warnings.count == 1)
        tracker.observe(identity: "spiffe://td/agent/a", notAfter: 1_000_000 + 1800, serial: "02")
        #expect(warnings.count == 1)
        clock.advance(3600)
        tracker.observe(identity: "spiffe://td/agent/a", notAfter: 1_000_000 + 1800, serial: "02")
        #expect(warnings.count == 2)
        #expect(tracker.snapshot().first?.secondsRemaining == 1800 - 3600)
    }

    /// A connection whose client certificate expires before maxConnectionAge is drained at
    /// the certificate's notAfter (reason certificate_expired), not an hour later.
    @Test func connectionDoesNotOutliveItsCertificate() async throws {
        let f = try GatewayFixture()
        defer { f.stop() }
        // notAfter 2 s ahead: the handshake succeeds, then the connection is drained at expiry.
        let (cert, key) = try writeLeaf(f, name: "alice", notBefore: now - 60, notAfter: now + 2)
        let client = try f.client(certificate: cert, key: key)
        defer { client.close() }
        #expect(await f.works(client))
        #expect(f.gateway.config.limits.maxConnectionAge == 3600)
        #expect(await eventually { client.connection.isClosed })
        let line = await f.logger.waitForLine(containing: "reason=certificate_expired")
        #expect(line.contains("peer=spiffe://capgate.local/agent/alice"))
    }
}

final class ClockBox: Sendable {
    private let v: Atomic<Int64>
    init(_ value: Int64) { v = Atomic(value) }
    var value: Int64 { v.load(ordering: .relaxed) }
    func advance(_ seconds: Int64) { v.add(seconds, ordering: .relaxed) }
}

final class WarningSink: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ s: String) { lines.withLock { $0.append(s) } }
    var count: Int { lines.withLock { $0.count } }
}
