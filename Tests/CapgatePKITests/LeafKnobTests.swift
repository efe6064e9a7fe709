import Testing
@testable import CapgatePKI

/// The "bad certificate" knobs the gateway's adversarial tests depend on: each one must
/// produce exactly the defect asked for and nothing else.
@Suite struct LeafKnobTests {
    let ca: CertificateAuthority
    init() throws { ca = try CertificateAuthority.create(trustDomain: "example.org", now: testNow) }

    func spec() -> LeafSpec { LeafSpec(commonName: "x", notBefore: testNow - 60, notAfter: testNow + 3600) }

    @Test func twoURISANs() throws {
        var s = spec()
        s.uriSANs = ["spiffe://example.org/agent/a", "spiffe://example.org/agent/b"]
        let cert = try ca.issueLeaf(s).certificate
        #expect(cert.uriSANs == s.uriSANs)
        try cert.verify(trustAnchors: [ca.certificate], at: testNow)  // chain-valid, identity-invalid
    }

    /// The knobs the TLS parser tests need: one subjectAltName extension per URI (a malformed
    /// certificate; DNS/IP names share one more) and the anyExtendedKeyUsage purpose.
    @Test func separateSANExtensionsAndAnyExtendedKeyUsage() throws {
        var s = spec()
        s.uriSANs = ["spiffe://example.org/agent/a", "spiffe://example.org/agent/b"]
        s.dnsSANs = ["a.example.org"]
        s.uriSANsAsSeparateExtensions = true
        let split = try ca.issueLeaf(s).certificate
        #expect(split.extensions.names.filter { $0 == "subjectAltName" }.count == 3)
        s.uriSANsAsSeparateExtensions = false
        s.extendedKeyUsage = [.anyExtendedKeyUsage]
        let one = try ca.issueLeaf(s).certificate
        #expect(one.extensions.names.filter { $0 == "subjectAltName" }.count == 1)
        #expect(one.uriSANs == s.uriSANs)
        #expect(one.extensions.extendedKeyUsage == ["anyExtendedKeyUsage"])
    }

    @Test func caTrueLeaf() throws {
        var s = spec()
        s.uriSANs = ["spiffe://example.org/agent/a"]
        s.basicConstraints = .ca(pathLength: nil)
        s.keyUsage = [.digitalSignature, .keyCertSign]
        let cert = try ca.issueLeaf(s).certificate
        #expect(cert.isCA)
        #expect(cert.extensions.basicConstraints == .init(critical: true, isCA: true, pathLength: nil))
        #expect(cert.extensions.keyUsage == [.digitalSignature, .keyCertSign])
    }

    @Test func serverAuthOnlyAndNoEKUAndNonCriticalKeyUsage() throws {
        var s = spec()
        s.extendedKeyUsage = [.serverAuth]
        #expect(try ca.issueLeaf(s).certificate.extensions.extendedKeyUsage == ["serverAuth"])
        s.extendedKeyUsage = nil
        s.keyUsageCritical = false
        let ext = try ca.issueLeaf(s).certificate.extensions
        #expect(ext.extendedKeyUsage == nil)
        #expect(ext.keyUsage == .digitalSignature)
        #expect(!ext.isCritical("keyUsage"))
        s.keyUsage = nil
        s.basicConstraints = nil
        let bare = try ca.issueLeaf(s).certificate.extensions
        #expect(bare.keyUsage == nil && bare.basicConstraints == nil)
    }

    @Test func pastAndFutureValidity() throws {
        var s = spec()
        s.notBefore = testNow - 7200
        s.notAfter = testNow - 3600
        let expired = try ca.issueLeaf(s).certificate
        #expect(throws: PKIError.verificationFailed(code: 10, reason: "certificate has expired")) {
            try expired.verify(trustAnchors: [self.ca.certificate], at: testNow)
        }
        s.notBefore = testNow + 3600
        s.notAfter = testNow + 7200
        let future = try ca.issueLeaf(s).certificate
        #expect(throws: PKIError.verificationFailed(code: 9, reason: "certificate is not yet valid")) {
            try future.verify(trustAnchors: [self.ca.certificate], at: testNow)
        }
        s.notAfter = s.notBefore - 1
        #expect(throws: PKIError.self) { try self.ca.issueLeaf(s) }
    }

    @Test func emptySubjectMakesSANCritical() throws {
        var s = spec()
        s.commonName = nil
        s.uriSANs = ["spiffe://example.org/agent/a"]
        let cert = try ca.issueLeaf(s).certificate
        #expect(cert.subject == "")
        #expect(cert.extensions.isCritical("subjectAltName"))
    }

    @Test func fixedSerialAndReusedKey() throws {
        let key = try PrivateKey.generate()
        var s = spec()
        s.serialHex = "00C0FFEE"
        s.key = key
        let issued = try ca.issueLeaf(s)
        #expect(issued.certificate.serialHex == "c0ffee")
        #expect(issued.privateKey === key)
        #expect(issued.certificate.matches(key))
    }

    @Test func sanValuesCannotInjectEntries() throws {
        var s = spec()
        s.uriSANs = ["spiffe://example.org/agent/a,URI:spiffe://example.org/agent/admin"]
        let cert = try ca.issueLeaf(s).certificate
        #expect(cert.uriSANs.count == 1)
        #expect(cert.uriSANs == s.uriSANs)
    }
}
