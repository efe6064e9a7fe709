import Testing
@testable import CapgatePKI

/// Fixed instant for every test: verification and validity never read the wall clock.
let testNow: Int64 = 1_750_000_000  // 2025-06-15

@Suite struct CertificateAuthorityTests {
    @Test func caCarriesTheRootProfile() throws {
        let ca = try CertificateAuthority.create(trustDomain: "example.org", commonName: "Test CA", now: testNow)
        let cert = ca.certificate
        #expect(cert.isCA)
        #expect(cert.subject == "O=example.org,CN=Test CA")
        #expect(cert.issuer == cert.subject)
        #expect(cert.uriSANs == ["spiffe://example.org"])
        #expect(cert.notBefore == testNow - PKIDefaults.clockSkewSeconds)
        #expect(cert.notAfter == testNow + PKIDefaults.caValidity.components.seconds)
        let ext = cert.extensions
        #expect(ext.basicConstraints == .init(critical: true, isCA: true, pathLength: 0))
        #expect(ext.keyUsage == [.keyCertSign, .cRLSign])
        #expect(ext.isCritical("keyUsage"))
        #expect(ext.extendedKeyUsage == nil)
        let ski = try #require(ext.subjectKeyIdentifier)
        #expect(ext.authorityKeyIdentifier == ski)
        #expect(ca.trustDomain == "example.org")
        // Self-signed root verifies against itself.
        try cert.verify(trustAnchors: [cert], at: testNow)
    }

    @Test func agentLeafHasExactlyTheSVIDExtensions() throws {
        let ca = try CertificateAuthority.create(trustDomain: "example.org", now: testNow)
        let agent = try ca.issueAgent(name: "alice", ttl: .seconds(3600), now: testNow)
        let cert = agent.certificate
        #expect(cert.uriSANs == ["spiffe://example.org/agent/alice"])
        #expect(cert.dnsSANs.isEmpty && cert.ipSANs.isEmpty)
        #expect(!cert.isCA)
        #expect(cert.subject == "CN=alice")
        #expect(cert.matches(agent.privateKey))
        #expect(!cert.matches(ca.privateKey))
        #expect(agent.privateKey.bits == 256)
        let ext = cert.extensions
        #expect(ext.names.sorted() == ["authorityKeyIdentifier", "basicConstraints", "extendedKeyUsage",
                                       "keyUsage", "subjectAltName", "subjectKeyIdentifier"])
        #expect(ext.criticalNames == ["basicConstraints", "keyUsage"])
        #expect(ext.basicConstraints == .init(critical: true, isCA: false, pathLength: nil))
        #expect(ext.keyUsage == .digitalSignature)
        #expect(ext.extendedKeyUsage == ["clientAuth"])
        #expect(ext.authorityKeyIdentifier == ca.certificate.extensions.subjectKeyIdentifier)
        #expect(cert.notBefore == testNow - PKIDefaults.clockSkewSeconds)
        #expect(cert.notAfter == testNow + 3600)
        // 128-bit serial with the top bit set: always 32 hex digits.
        #expect(cert.serialHex.count == 32)
        try cert.verify(trustAnchors: [ca.certificate], at: testNow, purpose: .tlsClient)
    }

    @Test func agentFailsVerificationAgainstAnotherCAOrAsServer() throws {
        let ca = try CertificateAuthority.create(trustDomain: "example.org", now: testNow)
        let other = try CertificateAuthority.create(trustDomain: "example.org", now: testNow)
        let agent = try ca.issueAgent(name: "bob", now: testNow)
        #expect(throws: PKIError.self) { try agent.certificate.verify(trustAnchors: [other.certificate], at: testNow) }
        // EKU clientAuth only: OpenSSL's SSL server purpose must refuse it.
        #expect(throws: PKIError.self) {
            try agent.certificate.verify(trustAnchors: [ca.certificate], at: testNow, purpose: .tlsServer)
        }
        // Expired one second after notAfter.
        let expired = agent.certificate.notAfter + 1
        do {
            try agent.certificate.verify(trustAnchors: [ca.certificate], at: expired)
            Issue.record("expired certificate verified")
        } catch {
            guard case .verificationFailed(let code, _) = error else { Issue.record("\(error)"); return }
            #expect(code == 10)  // X509_V_ERR_CERT_HAS_EXPIRED
        }
    }

    @Test func serialsDiffer() throws {
        let ca = try CertificateAuthority.create(trustDomain: "example.org", now: testNow)
        var serials = Set<String>()
        for i in 0..<8 { serials.insert(try ca.issueAgent(name: "a\(i)", now: testNow).certificate.serialHex) }
        serials.insert(ca.certificate.serialHex)
        #expect(serials.count == 9)
    }

    @Test func serverLeafHasDNSAndIPSANsAndServerAuth() throws {
        let ca = try CertificateAuthority.create(trustDomain: "example.org", now: testNow)
        let server = try ca.issueServer(dnsNames: ["localhost", "capgate.internal"], ipAddresses: ["127.0.0.1", "::1"],
                                        now: testNow)
        let cert = server.certificate
        #expect(cert.dnsSANs == ["localhost", "capgate.internal"])
        #expect(cert.ipSANs == ["127.0.0.1", "::1"])
        #expect(cert.uriSANs.isEmpty)
        #expect(cert.extensions.extendedKeyUsage == ["serverAuth"])
        #expect(cert.extensions.basicConstraints?.isCA == false)
        try cert.verify(trustAnchors: [ca.certificate], at: testNow, purpose: .tlsServer)
    }

    @Test func leafValidityIsClampedToTheCA() throws {
        let ca = try CertificateAuthority.create(trustDomain: "example.org", validity: .seconds(7200), now: testNow)
        let agent = try ca.issueAgent(name: "alice", ttl: .seconds(86_400), now: testNow)
        #expect(agent.certificate.notAfter == ca.certificate.notAfter)
    }

    @Test func invalidNamesAreRefusedBeforeIssuing() throws {
        let ca = try CertificateAuthority.create(trustDomain: "example.org", now: testNow)
        for bad in ["", ".", "..", "a/b", "a b", "a,URI:spiffe://evil", "ä", String(repeating: "x", count: 129)] {
            #expect(throws: PKIError.self, "\(bad)") { try ca.issueAgent(name: bad, now: testNow) }
        }
        for good in ["a", "A.b-c_d", "...", "x.."] {
            #expect(try ca.issueAgent(name: good, now: testNow).certificate.uriSANs == ["spiffe://example.org/agent/\(good)"])
        }
        for badTD in ["", "Example.org", "example.org:443", "a/b", "spiffe://x"] {
            #expect(throws: PKIError.self, "\(badTD)") { try CertificateAuthority.create(trustDomain: badTD, now: testNow) }
        }
        for badDNS in ["", "a..b", "-a.b", "a,b", "A.example", "a.example."] {
            #expect(throws: PKIError.self, "\(badDNS)") { try ca.issueServer(dnsNames: [badDNS], now: testNow) }
        }
        #expect(throws: PKIError.self) { try ca.issueServer(dnsNames: ["ok"], ipAddresses: ["300.1.1.1"], now: testNow) }
        #expect(throws: PKIError.self) { try ca.issueAgent(name: "a", ttl: .seconds(0), now: testNow) }
    }

    @Test func reloadedCAKeepsItsTrustDomainAndRefusesAForeignKey() throws {
        let ca = try CertificateAuthority.create(trustDomain: "prod.example", now: testNow)
        let cert = try Certificate(pem: try ca.certificate.pemBytes())
        let key = try PrivateKey(pem: try ca.privateKey.pemBytes())
        let reloaded = try CertificateAuthority(certificate: cert, privateKey: key)
        #expect(reloaded.trustDomain == "prod.example")
        #expect(throws: PKIError.trustDomainMismatch(expected: "other.example", found: "prod.example")) {
            try CertificateAuthority(certificate: cert, privateKey: key, trustDomain: "other.example")
        }
        #expect(throws: PKIError.keyMismatch(path: "CA")) {
            try CertificateAuthority(certificate: cert, privateKey: try PrivateKey.generate())
        }
        let leaf = try ca.issueAgent(name: "x", now: testNow)
        #expect(throws: PKIError.self) { try CertificateAuthority(certificate: leaf.certificate, privateKey: leaf.privateKey) }
    }
}
