import Testing
@testable import CapgatePKI

/// The server certificate's cRLDistributionPoints (`pki server --crl-url`, the dev PKI's
/// `file://.../crl.pem`): written as one non-critical distribution point, read back exactly,
/// validated before anything is signed.
@Suite struct CRLDistributionPointTests {
    @Test func serverLeafCarriesTheURIsAsOneNonCriticalDistributionPoint() throws {
        let ca = try CertificateAuthority.create(trustDomain: "example.org", now: testNow)
        let urls = ["http://pki.example.org/ca.crl", "ldap://dir.example.org/cn=CA,o=example?certificateRevocationList"]
        let cert = try ca.issueServer(dnsNames: ["localhost"], crlURLs: urls, now: testNow).certificate
        #expect(cert.crlDistributionURIs == urls)  // the ',' stays inside the second URI
        #expect(cert.extensions.names.filter { $0 == "crlDistributionPoints" }.count == 1)
        #expect(!cert.extensions.isCritical("crlDistributionPoints"))
        try cert.verify(trustAnchors: [ca.certificate], at: testNow, purpose: .tlsServer)
    }

    @Test func withoutURLsThereIsNoExtension() throws {
        let ca = try CertificateAuthority.create(trustDomain: "example.org", now: testNow)
        let cert = try ca.issueServer(dnsNames: ["localhost"], now: testNow).certificate
        #expect(cert.crlDistributionURIs.isEmpty)
        #expect(!cert.extensions.names.contains("crlDistributionPoints"))
        #expect(try ca.issueAgent(name: "alice", now: testNow).certificate.crlDistributionURIs.isEmpty)
    }

    @Test func badURLsAreRefusedBeforeIssuing() throws {
        let ca = try CertificateAuthority.create(trustDomain: "example.org", now: testNow)
        for bad in ["", "no-scheme", ":x", "1http://a", "http:", "http://a b", "http://é.example", "http://a\n",
                    "ht tp://a", "http://" + String(repeating: "a", count: CRLDistributionURL.maxLength)] {
            #expect(throws: PKIError.self, "\(bad)") {
                try ca.issueServer(dnsNames: ["localhost"], crlURLs: [bad], now: testNow)
            }
        }
        for good in ["http://a", "https://pki.example/ca.crl", "file:///tmp/x%20y/crl.pem", "ldap://h/cn=x"] {
            try CRLDistributionURL.validate(good)
        }
    }

    @Test func fileURLPercentEncodesWhatIsNotUnreserved() {
        #expect(CRLDistributionURL.fileURL(absolutePath: "/var/lib/capgate/pki/crl.pem") == "file:///var/lib/capgate/pki/crl.pem")
        #expect(CRLDistributionURL.fileURL(absolutePath: "/tmp/a b/%,é/crl.pem") == "file:///tmp/a%20b/%25%2C%C3%A9/crl.pem")
        #expect((try? CRLDistributionURL.validate(CRLDistributionURL.fileURL(absolutePath: "/tmp/a b/é"))) != nil)
    }

    @Test func devPKIWritesTheURLAndReissuesTheServerWhenItChanges() throws {
        let tmp = try TestDirectory()
        let dir = PKIDirectory(path: tmp.path + "/dev")
        let url = "file://" + tmp.path + "/dev/crl.pem"
        try dir.ensureDevPKI(agents: ["alice"], trustDomain: "example.org", serverCRLURLs: [url], now: testNow)
        let first = try Certificate(pem: try tmp.bytes("dev/server.pem"))
        #expect(first.crlDistributionURIs == [url])
        // Same URL: nothing changes.
        #expect(!(try dir.ensureDevPKI(agents: ["alice"], trustDomain: "example.org", serverCRLURLs: [url],
                                       now: testNow + 60)).changed)
        // A dev PKI made before the option (no URL) gets a new server certificate, agents untouched.
        let moved = try dir.ensureDevPKI(agents: ["alice"], trustDomain: "example.org",
                                         serverCRLURLs: ["http://x/crl"], now: testNow + 120)
        #expect(moved == DevPKIReport(createdCA: false, issuedServer: true, issuedAgents: [], wroteCRL: false))
        let second = try Certificate(pem: try tmp.bytes("dev/server.pem"))
        #expect(second.crlDistributionURIs == ["http://x/crl"])
        #expect(second.serialHex != first.serialHex)
    }
}
