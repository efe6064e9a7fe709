@testable import CapgateTLS
import COpenSSL
import Testing

/// Identity bound to the issuing CA (docs/hardening.md "Identity bound to the issuing CA"):
/// real handshakes between two engines, then `peerIdentity()` as the server runs it.
@Suite struct TrustDomainBindingTests {
    /// Our CA (`spiffe://example.org`), a partner's (`spiffe://partner.example`), a CA without
    /// a SPIFFE ID, and leaves of each.
    struct Fixture {
        let ours = Self.ca("our CA", td: "example.org")
        let partner = Self.ca("partner CA", td: "partner.example")
        let plain = TestCertificateFactory.makeCA(cn: "plain CA")

        static func ca(_ cn: String, td: String) -> TestCertificate {
            TestCertificateFactory.make(cn: cn, serial: 1, key: TestKey(), issuer: nil, extensions: [
                (NID_basic_constraints, "critical,CA:TRUE"),
                (NID_key_usage, "critical,keyCertSign,cRLSign"),
                (NID_subject_key_identifier, "hash"),
                (NID_subject_alt_name, "URI:spiffe://\(td)"),
            ], validFrom: -3600, validUntil: 86_400)
        }

        static func leaf(_ issuer: TestCertificate, _ id: String, serial: Int = 0x77) -> TestCertificate {
            issuer.issue(cn: "leaf", serial: serial, extensions: TestCertificateFactory.clientExtensions(san: "URI:\(id)"))
        }
    }

    static let f = Fixture()

    /// Handshake with `leaf` (plus `chain`) against a server trusting `bundle` and
    /// `trustDomains`; returns the server's identity decision.
    static func identity(_ leaf: TestCertificate, chain: [TestCertificate] = [], bundle: [UInt8],
                         trustDomains: [String: [UInt8]] = [:]) throws -> Result<String, PeerIdentityError> {
        let pki = TestPKI.shared
        let material = TLSServerMaterial(certificateChainPEM: pki.server.pem, privateKeyPEM: pki.server.key.pem,
                                         trustBundlePEM: bundle, trustDomainBundlesPEM: trustDomains)
        return try identity(leaf, chain: chain, server: try TLSContext.server(material: material))
    }

    static func identity(_ leaf: TestCertificate, chain: [TestCertificate] = [],
                         server context: TLSContext) throws -> Result<String, PeerIdentityError> {
        let pki = TestPKI.shared
        let client = try TLSContext.client(
            material: TLSClientMaterial(certificateChainPEM: ([leaf] + chain).flatMap(\.pem),
                                        privateKeyPEM: leaf.key.pem, trustBundlePEM: pki.ca.pem),
            serverName: "localhost", alpnProtocols: ["h2"])
        let (c, s) = (try client.makeEngine(), try context.makeEngine())
        let (cr, sr) = try Shuttle.handshake(client: c, server: s)
        #expect(cr == .done && sr == .done, "the chain itself verifies: \(cr) \(sr)")
        do throws(PeerIdentityError) { return .success(try s.peerIdentity().spiffeID.description) } catch {
            return .failure(error)
        }
    }

    @Test func partnerCAInOneBundleCannotMintOurIDs() throws {
        let bundle = Self.f.ours.pem + Self.f.partner.pem
        let forged = Fixture.leaf(Self.f.partner, "spiffe://example.org/agent/ops")
        #expect(try Self.identity(forged, bundle: bundle) == .failure(.trustDomainNotVouched))
        let own = Fixture.leaf(Self.f.partner, "spiffe://partner.example/agent/bot")
        #expect(try Self.identity(own, bundle: bundle) == .success("spiffe://partner.example/agent/bot"))
        let ours = Fixture.leaf(Self.f.ours, "spiffe://example.org/agent/ops")
        #expect(try Self.identity(ours, bundle: bundle) == .success("spiffe://example.org/agent/ops"))
        // And our CA cannot mint the partner's.
        let reverse = Fixture.leaf(Self.f.ours, "spiffe://partner.example/agent/bot")
        #expect(try Self.identity(reverse, bundle: bundle) == .failure(.trustDomainNotVouched))
    }

    @Test func caWithoutSPIFFEIDInTheSingleBundleVouchesForAnyTrustDomain() throws {
        // Today's behaviour, kept (documented in docs/configuration.md).
        for id in ["spiffe://example.org/a", "spiffe://elsewhere.test/b"] {
            #expect(try Self.identity(Fixture.leaf(Self.f.plain, id), bundle: Self.f.plain.pem) == .success(id))
        }
    }

    @Test func trustDomainBundlesBindEvenCAsWithoutSPIFFEIDs() throws {
        let domains = ["example.org": Self.f.plain.pem, "partner.example": Self.f.partner.pem]
        let forged = Fixture.leaf(Self.f.partner, "spiffe://example.org/agent/ops")
        #expect(try Self.identity(forged, bundle: [], trustDomains: domains) == .failure(.trustDomainNotVouched))
        let plainElsewhere = Fixture.leaf(Self.f.plain, "spiffe://partner.example/x")
        #expect(try Self.identity(plainElsewhere, bundle: [], trustDomains: domains) == .failure(.trustDomainNotVouched))
        let good = Fixture.leaf(Self.f.plain, "spiffe://example.org/agent/ops")
        #expect(try Self.identity(good, bundle: [], trustDomains: domains) == .success("spiffe://example.org/agent/ops"))
    }

    @Test func anIntermediateCannotWidenItsRoot() throws {
        // Root without a SPIFFE ID (vouches for any domain) -> intermediate for partner.example.
        let intermediate = TestCertificateFactory.make(
            cn: "partner intermediate", serial: 9, key: TestKey(), issuer: Self.f.plain, extensions: [
                (NID_basic_constraints, "critical,CA:TRUE,pathlen:0"),
                (NID_key_usage, "critical,keyCertSign,cRLSign"),
                (NID_subject_alt_name, "URI:spiffe://partner.example"),
            ], validFrom: -3600, validUntil: 86_400)
        let forged = Fixture.leaf(intermediate, "spiffe://example.org/agent/ops")
        #expect(try Self.identity(forged, chain: [intermediate], bundle: Self.f.plain.pem)
                    == .failure(.trustDomainNotVouched))
        let own = Fixture.leaf(intermediate, "spiffe://partner.example/bot")
        #expect(try Self.identity(own, chain: [intermediate], bundle: Self.f.plain.pem)
                    == .success("spiffe://partner.example/bot"))
    }

    @Test func loadRefusesAContradictoryOrMalformedBinding() {
        // A CA that names partner.example listed as example.org's bundle: a configuration slip.
        #expect(throws: TLSError.self) {
            try TrustDomainBinding(bundle: [], trustDomainBundles: ["example.org": Self.f.partner.pem])
        }
        #expect(throws: TLSError.self) {
            try TrustDomainBinding(bundle: [], trustDomainBundles: ["Not A Domain": Self.f.plain.pem])
        }
        #expect(throws: TLSError.self) { try TrustDomainBinding(bundle: [], trustDomainBundles: [:]) }
        let badSAN = TestCertificateFactory.make(cn: "bad", serial: 1, key: TestKey(), issuer: nil, extensions: [
            (NID_basic_constraints, "critical,CA:TRUE"),
            (NID_key_usage, "critical,keyCertSign,cRLSign"),
            (NID_subject_alt_name, "URI:spiffe://example.org/workload"),
        ], validFrom: -3600, validUntil: 86_400)
        #expect(throws: TLSError.self) { try TrustDomainBinding(bundle: badSAN.pem, trustDomainBundles: [:]) }
    }

    @Test func scopesFollowTheRules() throws {
        let b = try TrustDomainBinding(bundle: Self.f.ours.pem + Self.f.plain.pem,
                                       trustDomainBundles: ["partner.example": Self.f.partner.pem])
        #expect(b.anchors.count == 3)
        #expect(b.scopes[Self.f.ours.der] == .trustDomains(["example.org"]))
        #expect(b.scopes[Self.f.plain.der] == .anyTrustDomain)
        #expect(b.scopes[Self.f.partner.der] == .trustDomains(["partner.example"]))
    }

    @Test func reloadKeepsTheBinding() throws {
        let pki = TestPKI.shared
        let material = TLSServerMaterial(certificateChainPEM: pki.server.pem, privateKeyPEM: pki.server.key.pem,
                                         trustBundlePEM: Self.f.ours.pem + Self.f.partner.pem)
        let reloader = try CertificateReloader(material: material)
        try reloader.reload(material)
        #expect(reloader.generation == 2)
        let forged = Fixture.leaf(Self.f.partner, "spiffe://example.org/agent/ops")
        #expect(try Self.identity(forged, server: reloader.current) == .failure(.trustDomainNotVouched))
    }
}
