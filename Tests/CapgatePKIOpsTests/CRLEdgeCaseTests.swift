import CapgatePKI
import CapgateServer
import Foundation
import Testing

/// Issue 14 finding 11, operator-visible CRL edge cases: an optional CRL that does not exist
/// (revocation checking OFF) and a CRL reaching or passing its nextUpdate (every handshake
/// would fail) are said in the log, not discovered in an outage.
@Suite("CRL edge cases")
struct CRLEdgeCaseTests {
    static let offLine = "client revocation checking is OFF"

    /// crl_optional with no crl.pem: a warning at start and at every reload until the CRL
    /// exists; none once it does.
    @Test func missingOptionalCRLIsWarnedAtStartAndEachReload() async throws {
        let f = try GatewayFixture { config in try? FileManager.default.removeItem(atPath: config.tls.crl!) }
        defer { f.stop() }
        #expect(!f.gateway.server.revocationCheckingEnabled)
        #expect(f.logger.count(containing: Self.offLine) == 1, "start")
        _ = f.gateway.reload(tls: true, identities: false)
        #expect(f.logger.count(containing: Self.offLine) == 2, "first reload")
        _ = f.gateway.reload(tls: true, identities: false)
        #expect(f.logger.count(containing: Self.offLine) == 3, "second reload")

        _ = try f.pki.writeCRL()
        #expect(try f.gateway.reload(tls: true, identities: false).tls?.get() != nil)
        #expect(f.gateway.server.revocationCheckingEnabled)
        #expect(f.logger.count(containing: Self.offLine) == 3, "no warning once the CRL is in effect")
    }

    /// A configured CRL that is present: never the OFF warning.
    @Test func presentCRLIsNotWarned() async throws {
        let f = try GatewayFixture { _ in }
        defer { f.stop() }
        if !FileManager.default.fileExists(atPath: f.pki.crlPath) {
            _ = try f.pki.writeCRL()
            _ = f.gateway.reload(tls: true, identities: false)
        }
        #expect(f.gateway.server.revocationCheckingEnabled)
        _ = f.gateway.reload(tls: true, identities: false)
        #expect(f.logger.lines.filter { $0.contains(Self.offLine) }.count <= 1,
                "at most the start-up line of a fixture whose CRL did not exist yet")
        let before = f.logger.count(containing: Self.offLine)
        _ = f.gateway.reload(tls: true, identities: false)
        #expect(f.logger.count(containing: Self.offLine) == before)
    }

    /// Ahead of nextUpdate: one warning per hour (not one per check); past it: an error that
    /// says every handshake fails, and the handshakes do fail (fail closed).
    @Test func crlNearAndPastNextUpdateIsLoggedAndFailsClosed() async throws {
        let f = try GatewayFixture { config in config.crlExpiryWarning = 2 * 3600 }
        defer { f.stop() }
        if !FileManager.default.fileExists(atPath: f.pki.crlPath) {
            _ = try f.pki.writeCRL()
            _ = f.gateway.reload(tls: true, identities: false)
        }
        let next = try #require(f.gateway.server.crlNextUpdate)
        let soon = "reaches its nextUpdate in", stale = "past its nextUpdate"
        #expect(f.logger.count(containing: soon) == 0, "a fresh CRL is not warned")

        f.gateway.checkRevocation(now: next - 3 * 3600)
        #expect(f.logger.count(containing: soon) == 0, "outside the 2 h window")
        f.gateway.checkRevocation(now: next - 3600)
        #expect(f.logger.count(containing: soon) == 1)
        f.gateway.checkRevocation(now: next - 3000)
        #expect(f.logger.count(containing: soon) == 1, "once per hour, not per check")
        f.gateway.checkRevocation(now: next + 60)
        #expect(f.logger.count(containing: stale) == 1, "the state change is said at once")
        #expect(f.logger.lines.contains { $0.contains(stale) && $0.contains("EVERY client handshake fails") })

        // Fail closed at run time: a CRL that goes stale while serving (no file change, no
        // reload) makes every new handshake fail, and the periodic check says why.
        let validity = Int64(PKIDefaults.crlValidity.components.seconds)
        let now = Int64(Date().timeIntervalSince1970)
        let shortLived = try f.pki.writeCRL(now: now - validity + 3)
        #expect(try f.gateway.reload(tls: true, identities: false).tls?.get() != nil, "still fresh: accepted")
        let alice = try f.client(agent: "alice")
        #expect(await f.works(alice), "served while the CRL is fresh")
        alice.close()
        let staleAt = try #require(shortLived.nextUpdate)
        while Int64(Date().timeIntervalSince1970) <= staleAt + 1 { try await Task.sleep(for: .milliseconds(200)) }
        #expect(await f.refused(agent: "alice"), "a stale CRL must fail the handshake (fail closed)")
        let staleLines = f.logger.count(containing: stale)
        f.gateway.checkRevocation()
        #expect(f.logger.count(containing: stale) == staleLines + 1, "the state change (fresh -> stale) is said at once")
    }

    /// `capgate check-config` says when `serve` would run without revocation checking.
    @Test func checkConfigSaysRevocationIsOff() async throws {
        let dir = try OpsTempDir()
        let pki = PKIDirectory(path: dir.file("pki"))
        try pki.ensureDevPKI(agents: ["alice"], trustDomain: "capgate.local")
        try? FileManager.default.removeItem(atPath: pki.crlPath)
        let configPath = dir.file("capgate.toml")
        try overwrite(configPath, RotationTests.config(agents: ["alice"]))
        let off = try await capgate(["check-config", configPath])
        #expect(off.status == 0, "\(off.stderr)")
        #expect(off.stdout.hasPrefix("ok: "))
        #expect(off.stdout.contains("warning: " + Self.offLine), "\(off.stdout)")

        _ = try pki.writeCRL()
        let on = try await capgate(["check-config", configPath])
        #expect(on.status == 0, "\(on.stderr)")
        #expect(!on.stdout.contains("warning"), "\(on.stdout)")
    }
}
