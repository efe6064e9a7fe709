import CapgateClient
import CapgateConnection
import CapgatePKI
import CapgateServer
import Testing

/// SPIRE-style scenario in numbered steps: issue, connect, work; revoke, regenerate the CRL,
/// reload, refused while another agent keeps working; reissue, accepted again.
@Suite("Revocation scenarios")
struct RevocationScenarioTests {
    @Test func revokeReloadRefusedThenReissueAccepted() async throws {
        let f = try GatewayFixture()
        defer { f.stop() }

        // 1. issue (a fresh one, on top of the demo's), connect, work
        let first = try f.pki.issueAgent(name: "alice", ttl: .seconds(3600))
        let alice = try f.client(agent: "alice")
        #expect(await f.works(alice))
        alice.close()
        let bob = try f.client(agent: "bob")
        defer { bob.close() }
        #expect(await f.works(bob))

        // 2. revoke, regenerate the CRL, reload
        let serials = try f.pki.revoke(agent: "alice")
        #expect(serials.contains(first.certificate.serialHex))
        let crl = try f.pki.writeCRL()
        #expect(crl.revokedSerials.contains(first.certificate.serialHex))
        let result = f.gateway.reload(tls: true, identities: false)
        #expect(try result.tls?.get() == 2)

        // 3. alice is refused at the handshake; bob's live connection and a new bob work
        #expect(await f.refused(agent: "alice"))
        await f.logger.waitForLine(containing: "reason=tls_peer_verification_failed")
        #expect(await f.works(bob))
        let bob2 = try f.client(agent: "bob")
        defer { bob2.close() }
        #expect(await f.works(bob2))

        // 4. reissue: a new serial, not in the CRL, accepted again
        let second = try f.pki.issueAgent(name: "alice", ttl: .seconds(3600))
        #expect(second.certificate.serialHex != first.certificate.serialHex)
        let again = try f.client(agent: "alice")
        defer { again.close() }
        #expect(await f.works(again))
        // the index remembers both: one revoked, one valid
        let entries = try f.pki.list().filter { $0.name == "alice" }
        #expect(entries.contains { $0.serialHex == first.certificate.serialHex && $0.revokedAt != nil })
        #expect(entries.contains { $0.serialHex == second.certificate.serialHex && $0.revokedAt == nil })
    }

    /// A revoked identity does not keep its long-lived connection until maxConnectionAge: the
    /// reload drains it (GOAWAY, reason certificate_revoked) while other agents stay connected.
    @Test func liveConnectionOfRevokedCertificateIsDrained() async throws {
        let f = try GatewayFixture()
        defer { f.stop() }
        let alice = try f.client(agent: "alice")
        defer { alice.close() }
        let bob = try f.client(agent: "bob")
        defer { bob.close() }
        #expect(await f.works(alice))
        #expect(await f.works(bob))

        try f.pki.revoke(agent: "alice")  // also rewrites crl.pem
        #expect(try f.gateway.reload(tls: true, identities: false).tls?.get() == 2)

        #expect(await eventually { alice.connection.isClosed })
        let line = await f.logger.waitForLine(containing: "reason=certificate_revoked")
        #expect(line.contains("peer=spiffe://capgate.local/agent/alice"))
        #expect(await f.works(bob))
        #expect(!bob.connection.isClosed)
    }

    /// No SIGHUP, no API call: `pki revoke` rewrites crl.pem and the watcher reloads it.
    @Test func watcherPicksUpTheNewCRL() async throws {
        let f = try GatewayFixture(watchInterval: 0.05)
        defer { f.stop() }
        let before = try f.client(agent: "ops")
        #expect(await f.works(before))
        before.close()

        try f.pki.revoke(agent: "ops")
        #expect(await eventually { f.gateway.server.tlsGeneration >= 2 })
        #expect(await f.refused(agent: "ops"))
        let bob = try f.client(agent: "bob")
        defer { bob.close() }
        #expect(await f.works(bob))
        await f.logger.waitForLine(containing: "files changed (tls): reloading")
    }

    /// `crl.pem` absent at start (crl_optional): no CRL checking; once it appears, the watcher
    /// turns checking on. Deleting it afterwards is refused: revocation never silently goes away.
    @Test func crlAppearingLaterIsPickedUpAndItsDeletionRefused() async throws {
        let f = try GatewayFixture(watchInterval: 0.05) { config in
            try? FileManager.default.removeItem(atPath: config.tls.crl!)
        }
        defer { f.stop() }
        #expect(f.gateway.server.tlsGeneration == 1)
        let alice = try f.client(agent: "alice")
        #expect(await f.works(alice))
        alice.close()

        try f.pki.revoke(agent: "alice")  // writes crl.pem for the first time
        #expect(await eventually { f.gateway.server.tlsGeneration >= 2 })
        #expect(await f.refused(agent: "alice"))

        try FileManager.default.removeItem(atPath: f.pki.crlPath)
        await f.logger.waitForLine(containing: "CRL file disappeared")
        let generation = f.gateway.server.tlsGeneration
        #expect(await f.refused(agent: "alice"))
        #expect(f.gateway.server.tlsGeneration == generation)
    }
}

import Foundation
