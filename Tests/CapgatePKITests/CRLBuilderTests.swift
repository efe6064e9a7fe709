import Testing
@testable import CapgatePKI

@Suite struct CRLBuilderTests {
    @Test func crlListsRevokedSerialAndVerifiesWithTheCA() throws {
        let ca = try CertificateAuthority.create(trustDomain: "example.org", now: testNow)
        let revoked = try ca.issueAgent(name: "mallory", now: testNow).certificate
        let kept = try ca.issueAgent(name: "alice", now: testNow).certificate
        var builder = CRLBuilder(authority: ca)
        try builder.revoke(serialHex: revoked.serialHex.uppercased(), at: testNow - 10)
        try builder.revoke(serialHex: revoked.serialHex, at: testNow)  // duplicate ignored
        let crl = try builder.build(crlNumber: 7, thisUpdate: testNow, validity: .seconds(86_400))

        let reparsed = try RevocationList(pem: try crl.pemBytes())
        #expect(String(decoding: try crl.pemBytes(), as: UTF8.self).hasPrefix("-----BEGIN X509 CRL-----"))
        #expect(reparsed.entries == [.init(serialHex: revoked.serialHex, revokedAt: testNow - 10)])
        #expect(reparsed.contains(revoked))
        #expect(!reparsed.contains(kept))
        #expect(reparsed.lastUpdate == testNow)
        #expect(reparsed.nextUpdate == testNow + 86_400)
        #expect(reparsed.crlNumber == 7)
        #expect(reparsed.issuer == ca.certificate.subject)
        #expect(reparsed.isSigned(by: ca.certificate))
        let other = try CertificateAuthority.create(trustDomain: "example.org", now: testNow)
        #expect(!reparsed.isSigned(by: other.certificate))

        // OpenSSL's own CRL check agrees: the revoked leaf fails, the other passes.
        #expect(throws: PKIError.verificationFailed(code: 23, reason: "certificate revoked")) {
            try revoked.verify(trustAnchors: [ca.certificate], revocationLists: [reparsed], at: testNow + 1)
        }
        try kept.verify(trustAnchors: [ca.certificate], revocationLists: [reparsed], at: testNow + 1)
    }

    @Test func emptyCRLAndBadSerials() throws {
        let ca = try CertificateAuthority.create(trustDomain: "example.org", now: testNow)
        var builder = CRLBuilder(authority: ca)
        #expect(try builder.build(crlNumber: 1, thisUpdate: testNow).entries.isEmpty)
        #expect(throws: PKIError.self) { try builder.revoke(serialHex: "not-hex", at: testNow) }
        #expect(throws: PKIError.self) { try builder.build(crlNumber: -1, thisUpdate: testNow) }
    }
}
