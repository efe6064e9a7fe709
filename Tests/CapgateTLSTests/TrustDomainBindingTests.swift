@testable import CapgateTLS
import CapgatePKI
import CapgateTesting
import COpenSSL
import Foundation
import Testing

/// A CA for these tests: its authority (to issue leaves through CapgatePKI) and PEM/DER.
struct BindingCA: Sendable {
    let authority: CertificateAuthority
    var pem: [UInt8] { (try? authority.certificate.pemBytes()) ?? [] }
    var der: [UInt8] { (try? authority.certificate.derBytes()) ?? [] }

    /// A `capgate pki init` style root: URI SAN `spiffe://td`.
    static func spiffe(_ cn: String, td: String) -> BindingCA {
        BindingCA(authority: try! CertificateAuthority.create(trustDomain: td, commonName: cn))
    }

    /// A root WITHOUT any SPIFFE ID (an operator's existing corporate CA), built with raw
    /// OpenSSL because CapgatePKI never issues one.
    static func plain(_ cn: String) -> BindingCA {
        let ctx = EVP_PKEY_CTX_new_from_name(nil, "EC", nil)!
        defer { EVP_PKEY_CTX_free(ctx) }
        precondition(EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_CTX_set_group_name(ctx, "P-256") == 1)
        var key: OpaquePointer?
        precondition(EVP_PKEY_generate(ctx, &key) == 1)
        defer { EVP_PKEY_free(key) }
        let x = X509_new()!
        defer { X509_free(x) }
        precondition(X509_set_version(x, 2) == 1 && ASN1_INTEGER_set(X509_get_serialNumber(x), 7) == 1)
        X509_gmtime_adj(X509_getm_notBefore(x), -3600)
        X509_gmtime_adj(X509_getm_notAfter(x), 86_400)
        let name = X509_get_subject_name(x)
        precondition(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0) == 1)
        precondition(X509_set_issuer_name(x, name) == 1 && X509_set_pubkey(x, key) == 1)
        var v3 = X509V3_CTX()
        X509V3_set_ctx(&v3, x, x, nil, nil, 0)
        for (nid, value) in [(NID_basic_constraints, "critical,CA:TRUE"), (NID_key_usage, "critical,keyCertSign,cRLSign"),
                             (NID_subject_key_identifier, "hash")] {
            let ext = X509V3_EXT_conf_nid(nil, &v3, nid, value)!
            precondition(X509_add_ext(x, ext, -1) == 1)
            X509_EXTENSION_free(ext)
        }
        precondition(X509_sign(x, key, EVP_sha256()) > 0)
        let certPEM = Self.write { PEM_write_bio_X509($0, x) }
        let keyPEM = Self.write { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) }
        let authority = try! CertificateAuthority(certificate: Certificate.all(pem: certPEM)[0],
                                                  privateKey: PrivateKey(pem: keyPEM), trustDomain: "example.org")
        return BindingCA(authority: authority)
    }

    /// An intermediate CA certificate under `self` whose only URI SAN is `san`.
    func intermediateCertificate(san: String) -> IssuedCertificate {
        let now = Int64(Date().timeIntervalSince1970)
        var spec = LeafSpec(commonName: "intermediate", notBefore: now - 3600, notAfter: now + 86_400)
        spec.basicConstraints = .ca(pathLength: 0)
        spec.keyUsage = [.keyCertSign, .cRLSign]
        spec.extendedKeyUsage = nil
        spec.uriSANs = [san]
        return try! authority.issueLeaf(spec)
    }

    /// An intermediate CA under `self` carrying `spiffe://td`.
    func intermediate(td: String) -> BindingCA {
        let issued = intermediateCertificate(san: "spiffe://\(td)")
        return BindingCA(authority: try! CertificateAuthority(certificate: issued.certificate,
                                                              privateKey: issued.privateKey, trustDomain: td))
    }

    /// A client SVID for `id` issued by this CA.
    func leaf(_ id: String) -> TestIdentity {
        let now = Int64(Date().timeIntervalSince1970)
        var spec = LeafSpec(commonName: "leaf", notBefore: now - 300, notAfter: now + 3600)
        spec.uriSANs = [id]
        let issued = try! authority.issueLeaf(spec)
        return TestIdentity(issued.certificate, issued.privateKey)
    }

    static func write(_ body: (OpaquePointer) -> Int32) -> [UInt8] {
        let bio = BIO_new(BIO_s_mem())!
        defer { BIO_free(bio) }
        precondition(body(bio) == 1)
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = BIO_read(bio, &chunk, Int32(chunk.count))
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<Int(n)])
        }
        return out
    }
}

/// Identity bound to the issuing CA (docs/hardening.md "Identity bound to the issuing CA"):
/// real handshakes between two engines, then `peerIdentity()` as the server runs it.
@Suite struct TrustDomainBindingTests {
    /// Our CA (`spiffe://example.org`), a partner's (`spiffe://partner.example`), a CA without
    /// a SPIFFE ID.
    struct Fixture: Sendable {
        let ours = BindingCA.spiffe("our CA", td: "example.org")
        let partner = BindingCA.spiffe("partner CA", td: "partner.example")
        let plain = BindingCA.plain("plain CA")
    }

    static let f = Fixture()

    /// Handshake with `leaf` (plus `chain`) against a server trusting `bundle` and
    /// `trustDomains`; returns the server's identity decision.
    static func identity(_ leaf: TestIdentity, chain: [BindingCA] = [], bundle: [UInt8],
                         trustDomains: [String: [UInt8]] = [:]) throws -> Result<String, PeerIdentityError> {
        let pki = TestPKI.shared
        let material = TLSServerMaterial(certificateChainPEM: pki.server.certPEM, privateKeyPEM: pki.server.keyPEM,
                                         trustBundlePEM: bundle, trustDomainBundlesPEM: trustDomains)
        return try identity(leaf, chain: chain, server: try TLSContext.server(material: material))
    }

    static func identity(_ leaf: TestIdentity, chain: [BindingCA] = [],
                         server context: TLSContext) throws -> Result<String, PeerIdentityError> {
        let pki = TestPKI.shared
        let client = try TLSContext.client(
            material: TLSClientMaterial(certificateChainPEM: leaf.certPEM + chain.flatMap(\.pem),
                                        privateKeyPEM: leaf.keyPEM, trustBundlePEM: pki.ca.certPEM),
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
        let forged = Self.f.partner.leaf("spiffe://example.org/agent/ops")
        #expect(try Self.identity(forged, bundle: bundle) == .failure(.trustDomainNotVouched))
        let own = Self.f.partner.leaf("spiffe://partner.example/agent/bot")
        #expect(try Self.identity(own, bundle: bundle) == .success("spiffe://partner.example/agent/bot"))
        let ours = Self.f.ours.leaf("spiffe://example.org/agent/ops")
        #expect(try Self.identity(ours, bundle: bundle) == .success("spiffe://example.org/agent/ops"))
        // And our CA cannot mint the partner's.
        let reverse = Self.f.ours.leaf("spiffe://partner.example/agent/bot")
        #expect(try Self.identity(reverse, bundle: bundle) == .failure(.trustDomainNotVouched))
    }

    @Test func caWithoutSPIFFEIDInTheSingleBundleVouchesForAnyTrustDomain() throws {
        // Today's behaviour, kept (documented in docs/configuration.md).
        for id in ["spiffe://example.org/a", "spiffe://elsewhere.test/b"] {
            #expect(try Self.identity(Self.f.plain.leaf(id), bundle: Self.f.plain.pem) == .success(id))
        }
    }

    @Test func trustDomainBundlesBindEvenCAsWithoutSPIFFEIDs() throws {
        let domains = ["example.org": Self.f.plain.pem, "partner.example": Self.f.partner.pem]
        let forged = Self.f.partner.leaf("spiffe://example.org/agent/ops")
        #expect(try Self.identity(forged, bundle: [], trustDomains: domains) == .failure(.trustDomainNotVouched))
        let plainElsewhere = Self.f.plain.leaf("spiffe://partner.example/x")
        #expect(try Self.identity(plainElsewhere, bundle: [], trustDomains: domains) == .failure(.trustDomainNotVouched))
        let good = Self.f.plain.leaf("spiffe://example.org/agent/ops")
        #expect(try Self.identity(good, bundle: [], trustDomains: domains) == .success("spiffe://example.org/agent/ops"))
    }

    @Test func anIntermediateCannotWidenItsRoot() throws {
        // Root without a SPIFFE ID (vouches for any domain) -> intermediate for partner.example.
        let intermediate = Self.f.plain.intermediate(td: "partner.example")
        let forged = intermediate.leaf("spiffe://example.org/agent/ops")
        #expect(try Self.identity(forged, chain: [intermediate], bundle: Self.f.plain.pem)
                    == .failure(.trustDomainNotVouched))
        let own = intermediate.leaf("spiffe://partner.example/bot")
        #expect(try Self.identity(own, chain: [intermediate], bundle: Self.f.plain.pem)
                    == .success("spiffe://partner.example/bot"))
    }

    @Test func loadRefusesAContradictoryOrMalformedBinding() throws {
        // A CA that names partner.example listed as example.org's bundle: a configuration slip.
        #expect(throws: TLSError.self) {
            try TrustDomainBinding(bundle: [], trustDomainBundles: ["example.org": Self.f.partner.pem])
        }
        #expect(throws: TLSError.self) {
            try TrustDomainBinding(bundle: [], trustDomainBundles: ["Not A Domain": Self.f.plain.pem])
        }
        #expect(throws: TLSError.self) { try TrustDomainBinding(bundle: [], trustDomainBundles: [:]) }
        let badSAN = try Self.f.plain.intermediateCertificate(san: "spiffe://example.org/workload").certificate.pemBytes()
        #expect(throws: TLSError.self) { try TrustDomainBinding(bundle: badSAN, trustDomainBundles: [:]) }
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
        let material = TLSServerMaterial(certificateChainPEM: pki.server.certPEM, privateKeyPEM: pki.server.keyPEM,
                                         trustBundlePEM: Self.f.ours.pem + Self.f.partner.pem)
        let reloader = try CertificateReloader(material: material)
        try reloader.reload(material)
        #expect(reloader.generation == 2)
        let forged = Self.f.partner.leaf("spiffe://example.org/agent/ops")
        #expect(try Self.identity(forged, server: reloader.current) == .failure(.trustDomainNotVouched))
    }
}
