import Testing
@testable import CapgateTLS

/// Hot reload: a good set replaces the context; a bad set changes nothing.
@Suite struct CertificateReloaderTests {
    let pki = TestPKI.shared
    let now = CertificateReloader.unixNow()

    func expectUnchanged(_ reloader: CertificateReloader, after material: TLSServerMaterial,
                         kind: TLSError.Kind, at time: Int64? = nil) {
        let before = reloader.current
        do {
            try reloader.reload(material, now: time ?? now)
            Issue.record("reload should have failed with \(kind)")
        } catch {
            #expect(error.kind == kind)
        }
        #expect(reloader.current === before)
        #expect(reloader.generation == 1)
    }

    @Test func goodSetIsSwappedIn() throws {
        let reloader = try CertificateReloader(material: pki.serverMaterial(), now: now)
        let first = reloader.current
        #expect(reloader.generation == 1)
        let second = try reloader.reload(pki.serverMaterial(crl: pki.crl), now: now)
        #expect(reloader.generation == 2)
        #expect(reloader.current === second)
        #expect(second !== first)
        #expect(abs(reloader.leafNotAfter - (now + 86_400)) < 60)
    }

    @Test func newContextEnforcesTheNewCRL() throws {
        let reloader = try CertificateReloader(material: pki.serverMaterial(), now: now)
        let clientContext = try TLSContext.client(material: pki.clientMaterial(pki.revokedClient), serverName: "localhost")
        // Before: the revoked client still gets in (no CRL configured).
        let before = try Shuttle.handshake(client: clientContext.makeEngine(), server: reloader.current.makeEngine())
        #expect(before.server == .done)
        // A connection that started before the reload finishes on the old context.
        let inFlight = try reloader.current.makeEngine()
        try reloader.reload(pki.serverMaterial(crl: pki.crl), now: now)
        let after = try Shuttle.handshake(client: clientContext.makeEngine(), server: reloader.current.makeEngine())
        #expect(after.server.failure?.kind == .peerVerificationFailed)
        let old = try Shuttle.handshake(client: clientContext.makeEngine(), server: inFlight)
        #expect(old.server == .done)
    }

    @Test func mismatchedKeyChangesNothing() throws {
        let reloader = try CertificateReloader(material: pki.serverMaterial(), now: now)
        var bad = pki.serverMaterial()
        bad.privateKeyPEM = pki.goodClient.keyPEM
        expectUnchanged(reloader, after: bad, kind: .keyMismatch)
    }

    @Test func corruptBundleChangesNothing() throws {
        let reloader = try CertificateReloader(material: pki.serverMaterial(), now: now)
        var bad = pki.serverMaterial()
        bad.trustBundlePEM = Array("not pem".utf8)
        expectUnchanged(reloader, after: bad, kind: .invalidTrustBundle)
    }

    @Test func expiredOrFutureServerCertificateChangesNothing() throws {
        let reloader = try CertificateReloader(material: pki.serverMaterial(), now: now)
        expectUnchanged(reloader, after: pki.serverMaterial(), kind: .expired, at: now + 2 * 86_400)
        expectUnchanged(reloader, after: pki.serverMaterial(), kind: .expired, at: now - 2 * 3600)
    }

    @Test func crlFromAForeignCAChangesNothing() throws {
        let reloader = try CertificateReloader(material: pki.serverMaterial(), now: now)
        expectUnchanged(reloader, after: pki.serverMaterial(crl: pki.otherCA.crl(revoking: [1])), kind: .invalidCRL)
    }

    @Test func staleCRLChangesNothing() throws {
        let reloader = try CertificateReloader(material: pki.serverMaterial(), now: now)
        expectUnchanged(reloader, after: pki.serverMaterial(crl: pki.ca.crl(revoking: [], nextUpdate: -30)),
                        kind: .expired)
    }

    @Test func badInitialSetIsRefused() {
        var bad = pki.serverMaterial()
        bad.certificateChainPEM = []
        #expect(throws: TLSError.self) { try CertificateReloader(material: bad, now: now) }
    }
}
