@testable import CapgateTLS
@testable import CapgatePKI
import CapgateTesting
import COpenSSL
import COpenSSLShims
import Foundation
import Testing

/// The CRL fast path (crl_fast_path.c) refuses exactly what OpenSSL's own revocation check
/// refuses: every case runs the same client against a server context with the fast path and
/// one without (`crlFastPath: false`, OpenSSL alone), and both must end the same way (server
/// error, verify result, what the client sees). The counters say which path decided.
@Suite struct CRLFastPathTests {
    /// A root that may sign intermediates, an intermediate under it, and leaves of both.
    struct Fixture: Sendable {
        let root = TestCA("fast path root", pathLength: nil)
        let intermediate: CertificateAuthority
        let intermediatePEM: [UInt8]
        let intermediateSerial = 0x3003
        let good: TestIdentity
        let revoked: TestIdentity
        let underIntermediate: TestIdentity
        let revokedUnderIntermediate: TestIdentity

        init() {
            let now = Int64(Date().timeIntervalSince1970)
            var spec = LeafSpec(commonName: "fast path intermediate", notBefore: now - 3600, notAfter: now + 86_400)
            spec.serialHex = String(intermediateSerial, radix: 16)
            spec.basicConstraints = .ca(pathLength: 0)
            spec.keyUsage = [.keyCertSign, .cRLSign]
            spec.extendedKeyUsage = nil
            spec.uriSANs = ["spiffe://example.org"]
            let issued = try! root.authority.issueLeaf(spec)
            intermediate = try! CertificateAuthority(certificate: issued.certificate, privateKey: issued.privateKey,
                                                     trustDomain: "example.org")
            intermediatePEM = try! issued.certificate.pemBytes()
            good = root.client("good", serial: 0x1001, uris: [TestPKI.goodID])
            revoked = root.client("revoked", serial: 0x2002, uris: [TestPKI.goodID])
            let sub = TestCA.leaf(under: intermediate)
            underIntermediate = sub(0x4004)
            revokedUnderIntermediate = sub(0x5005)
        }
    }

    static let f = Fixture()

    /// How one handshake ended, as the server and the client saw it.
    struct Outcome: Equatable, CustomStringConvertible {
        var server: String
        var verifyResult: Int
        var client: String
        var description: String { "server \(server), verify \(verifyResult), client \(client)" }
    }

    /// The handshake of `leaf` (sending `extraChain` after it) against a server trusting the
    /// root with `crl`, with or without the fast path; plus the fast path's counters after it.
    static func run(_ leaf: TestIdentity, extraChain: [UInt8] = [], crl: [UInt8], fast: Bool)
        throws -> (Outcome, accepted: UInt64, fallbacks: UInt64) {
        let pki = TestPKI.shared
        let material = TLSServerMaterial(certificateChainPEM: pki.server.certPEM, privateKeyPEM: pki.server.keyPEM,
                                         trustBundlePEM: f.root.certPEM, crlPEM: crl)
        let server = try TLSContext.server(material: material, crlFastPath: fast)
        let before = server.crlFastPathCounts
        let client = try TLSContext.client(material: TLSClientMaterial(certificateChainPEM: leaf.certPEM + extraChain,
                                                                       privateKeyPEM: leaf.keyPEM,
                                                                       trustBundlePEM: pki.ca.certPEM),
                                           serverName: "localhost", alpnProtocols: ["h2"])
        let (c, s) = (try client.makeEngine(), try server.makeEngine())
        let result = try Shuttle.handshake(client: c, server: s)
        let (_, last) = Shuttle.readAll(c)
        let after = server.crlFastPathCounts
        let outcome = Outcome(server: "\(result.server)", verifyResult: SSL_get_verify_result(s.ssl),
                              client: "\(result.client) \(last)")
        return (outcome, after.accepted - before.accepted, after.fallbacks - before.fallbacks)
    }

    /// Runs both and checks they agree; returns the fast path's outcome and counters.
    static func same(_ leaf: TestIdentity, extraChain: [UInt8] = [], crl: [UInt8],
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> (Outcome, accepted: UInt64, fallbacks: UInt64) {
        let reference = try run(leaf, extraChain: extraChain, crl: crl, fast: false)
        let fast = try run(leaf, extraChain: extraChain, crl: crl, fast: true)
        #expect(fast.0 == reference.0, "fast path and OpenSSL disagree", sourceLocation: sourceLocation)
        #expect(reference.accepted == 0 && reference.fallbacks == 0, sourceLocation: sourceLocation)
        return fast
    }

    // MARK: - Root -> leaf (capgate pki): the fast path decides the clean chain

    @Test func cleanChainIsAcceptedByTheFastPath() throws {
        let (outcome, accepted, fallbacks) = try Self.same(Self.f.good, crl: Self.f.root.crl(revoking: [0x2002]))
        #expect(outcome.verifyResult == Int(X509_V_OK))
        #expect(outcome.server == "done")
        #expect(accepted == 1 && fallbacks == 0)
    }

    @Test func revokedLeafIsRefusedByOpenSSL() throws {
        let (outcome, accepted, fallbacks) = try Self.same(Self.f.revoked, crl: Self.f.root.crl(revoking: [0x2002]))
        #expect(outcome.verifyResult == Int(X509_V_ERR_CERT_REVOKED))
        #expect(accepted == 0 && fallbacks == 1)
    }

    @Test func anchorListedInItsOwnCRLGoesToOpenSSL() throws {
        let now = Int64(Date().timeIntervalSince1970)
        var builder = CRLBuilder(authority: Self.f.root.authority)
        try builder.revoke(serialHex: Self.f.root.identity.certificate.serialHex, at: now - 60)
        let crl = try builder.build(crlNumber: 1, thisUpdate: now - 60, validity: .seconds(86_400)).pemBytes()
        let (outcome, accepted, fallbacks) = try Self.same(Self.f.good, crl: crl)
        #expect(outcome.verifyResult != Int(X509_V_OK))
        #expect(accepted == 0 && fallbacks == 1)
    }

    @Test func expiredCRLIsRefusedByOpenSSL() throws {
        let (outcome, accepted, fallbacks) = try Self.same(Self.f.good, crl: Self.f.root.crl(revoking: [], nextUpdate: -30))
        #expect(outcome.verifyResult == Int(X509_V_ERR_CRL_HAS_EXPIRED))
        #expect(accepted == 0 && fallbacks == 1)
    }

    @Test func notYetValidCRLIsRefusedByOpenSSL() throws {
        let crl = try CRLBuilder(authority: Self.f.root.authority)
            .build(crlNumber: 1, thisUpdate: Int64(Date().timeIntervalSince1970) + 3600, validity: .seconds(86_400)).pemBytes()
        let (outcome, accepted, fallbacks) = try Self.same(Self.f.good, crl: crl)
        #expect(outcome.verifyResult == Int(X509_V_ERR_CRL_NOT_YET_VALID))
        #expect(accepted == 0 && fallbacks == 1)
    }

    @Test func tamperedCRLSignatureIsRefusedByOpenSSL() throws {
        let crl = try RawCRL.tamperedSignature(Self.f.root.crl(revoking: [0x2002]))
        let (outcome, accepted, fallbacks) = try Self.same(Self.f.good, crl: crl)
        #expect(outcome.verifyResult == Int(X509_V_ERR_CRL_SIGNATURE_FAILURE))
        #expect(accepted == 0 && fallbacks == 1)
    }

    @Test func crlSignedByAnotherKeyWithTheSameNameIsRefused() throws {
        // Same subject (CN and O), another key: its own AKID, and one forged with the root's.
        let impostor = TestCA("fast path root", pathLength: nil)
        for crl in [impostor.crl(revoking: []),
                    try RawCRL.build(issuer: Self.f.root.authority, signer: impostor.authority)] {
            let (outcome, accepted, fallbacks) = try Self.same(Self.f.good, crl: crl)
            #expect(outcome.verifyResult != Int(X509_V_OK))
            #expect(accepted == 0 && fallbacks == 1)
        }
        let forged = try RawCRL.build(issuer: Self.f.root.authority, signer: impostor.authority)
        #expect(try Self.same(Self.f.good, crl: forged).0.verifyResult == Int(X509_V_ERR_CRL_SIGNATURE_FAILURE))
    }

    @Test func crlOfAnotherIssuerLeavesTheChainWithoutCRL() throws {
        let (outcome, accepted, fallbacks) = try Self.same(Self.f.good, crl: TestPKI.shared.ca.crl(revoking: []))
        #expect(outcome.verifyResult == Int(X509_V_ERR_UNABLE_TO_GET_CRL))
        #expect(accepted == 0 && fallbacks == 1)
    }

    // MARK: - CRLs outside the simple profile: OpenSSL's check alone (fast path not installed)

    @Test func unhandledCriticalCRLExtensionIsRefusedByOpenSSLAlone() throws {
        let crl = try RawCRL.build(issuer: Self.f.root.authority, signer: Self.f.root.authority,
                                   extensions: [RawCRL.integer(NID_crl_number, critical: true)])
        let (outcome, accepted, fallbacks) = try Self.same(Self.f.good, crl: crl)
        #expect(outcome.verifyResult == Int(X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION))
        #expect(accepted == 0 && fallbacks == 0)
    }

    @Test func crlsOutsideTheProfileKeepOpenSSLsCheck() throws {
        let root = Self.f.root.authority
        let profiles: [[UInt8]] = [
            // issuing distribution point, delta CRL
            try RawCRL.build(issuer: root, signer: root,
                             extensions: [RawCRL.onlyUserIDP]),
            try RawCRL.build(issuer: root, signer: root, extensions: [RawCRL.integer(NID_crl_number, critical: false),
                                                                  RawCRL.integer(NID_delta_crl, critical: true)]),
            // two CRLs for one issuer
            Self.f.root.crl(revoking: []) + Self.f.root.crl(revoking: [0x2002]),
        ]
        for crl in profiles {
            for leaf in [Self.f.good, Self.f.revoked] {
                let (_, accepted, fallbacks) = try Self.same(leaf, crl: crl)
                #expect(accepted == 0 && fallbacks == 0)
            }
        }
    }

    // MARK: - Root -> intermediate -> leaf: the intermediate's CRL is not signed by an anchor

    var bothCRLs: [UInt8] {
        Self.f.root.crl(revoking: []) + RawCRL.pem(try! CRLBuilder(authority: Self.f.intermediate)
            .build(crlNumber: 1, thisUpdate: Int64(Date().timeIntervalSince1970) - 60, validity: .seconds(86_400)))
    }

    @Test func intermediateChainIsDecidedByOpenSSL() throws {
        let (outcome, accepted, fallbacks) = try Self.same(Self.f.underIntermediate, extraChain: Self.f.intermediatePEM,
                                                           crl: bothCRLs)
        #expect(outcome.verifyResult == Int(X509_V_OK))
        #expect(accepted == 0 && fallbacks == 1)
    }

    @Test func revokedIntermediateIsRefused() throws {
        let crl = Self.f.root.crl(revoking: [Self.f.intermediateSerial]) + RawCRL.pem(try CRLBuilder(authority: Self.f.intermediate)
            .build(crlNumber: 1, thisUpdate: Int64(Date().timeIntervalSince1970) - 60, validity: .seconds(86_400)))
        let (outcome, _, _) = try Self.same(Self.f.underIntermediate, extraChain: Self.f.intermediatePEM, crl: crl)
        #expect(outcome.verifyResult == Int(X509_V_ERR_CERT_REVOKED))
    }

    @Test func chainCertificateWhoseIssuerHasNoCRLIsRefused() throws {
        // Only the root's CRL: the leaf's issuer (the intermediate) has none.
        let (outcome, accepted, fallbacks) = try Self.same(Self.f.underIntermediate, extraChain: Self.f.intermediatePEM,
                                                           crl: Self.f.root.crl(revoking: []))
        #expect(outcome.verifyResult == Int(X509_V_ERR_UNABLE_TO_GET_CRL))
        #expect(accepted == 0 && fallbacks == 1)
    }
}

extension TestCA {
    /// Issues client SVIDs under `authority` (an intermediate), one per serial.
    static func leaf(under authority: CertificateAuthority) -> @Sendable (Int) -> TestIdentity {
        { serial in
            let now = Int64(Date().timeIntervalSince1970)
            var spec = LeafSpec(commonName: "leaf \(serial)", notBefore: now - 300, notAfter: now + 3600)
            spec.serialHex = String(serial, radix: 16)
            spec.uriSANs = [TestPKI.goodID]
            let issued = try! authority.issueLeaf(spec)
            return TestIdentity(issued.certificate, issued.privateKey)
        }
    }
}

/// CRLs CapgatePKI never issues, built with raw OpenSSL.
enum RawCRL {
    static func pem(_ crl: RevocationList) -> [UInt8] { try! crl.pemBytes() }

    /// A CRL naming `issuer` (its subject and, through AKID, its key) signed with `signer`'s
    /// key, valid from a minute ago for a day, with extra extensions given as OpenSSL config.
    static func build(issuer: CertificateAuthority, signer: CertificateAuthority,
                      extensions: [(OpaquePointer) -> Void] = []) throws -> [UInt8] {
        let x = X509_CRL_new()!
        defer { X509_CRL_free(x) }
        precondition(X509_CRL_set_version(x, 1) == 1)
        precondition(X509_CRL_set_issuer_name(x, X509_get_subject_name(issuer.certificate.pointer)) == 1)
        let last = X509_gmtime_adj(nil, -60)!, next = X509_gmtime_adj(nil, 86_400)!
        defer { ASN1_TIME_free(last); ASN1_TIME_free(next) }
        precondition(X509_CRL_set1_lastUpdate(x, last) == 1 && X509_CRL_set1_nextUpdate(x, next) == 1)
        var ctx = X509V3_CTX()
        X509V3_set_ctx(&ctx, issuer.certificate.pointer, nil, nil, x, 0)
        let akid = try #require(X509V3_EXT_conf_nid(nil, &ctx, NID_authority_key_identifier, "keyid:always"))
        precondition(X509_CRL_add_ext(x, akid, -1) == 1)
        X509_EXTENSION_free(akid)
        for add in extensions { add(x) }
        precondition(X509_CRL_sign(x, signer.privateKey.pointer, EVP_sha256()) > 0)
        return BindingCA.write { PEM_write_bio_X509_CRL($0, x) }
    }

    /// Adds an INTEGER extension (CRL number, delta CRL indicator) with value 1.
    static func integer(_ nid: Int32, critical: Bool) -> (OpaquePointer) -> Void {
        { crl in
            let value = ASN1_INTEGER_new()!
            defer { ASN1_INTEGER_free(value) }
            precondition(ASN1_INTEGER_set(value, 1) == 1)
            precondition(X509_CRL_add1_ext_i2d(crl, nid, UnsafeMutableRawPointer(value), critical ? 1 : 0, 0) == 1)
        }
    }

    /// Adds a critical issuing distribution point limited to user certificates.
    static func onlyUserIDP(_ crl: OpaquePointer) {
        let idp = ISSUING_DIST_POINT_new()!
        defer { ISSUING_DIST_POINT_free(idp) }
        idp.pointee.onlyuser = 0xFF
        precondition(X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, UnsafeMutableRawPointer(idp), 1, 0) == 1)
    }

    /// `pem` with the last byte of its signature flipped.
    static func tamperedSignature(_ pem: [UInt8]) throws -> [UInt8] {
        let bio = BIO_new_mem_buf(pem, Int32(pem.count))!
        defer { BIO_free(bio) }
        let x = try #require(PEM_read_bio_X509_CRL(bio, nil, nil, nil))
        defer { X509_CRL_free(x) }
        var der: UnsafeMutablePointer<UInt8>?
        let n = Int(i2d_X509_CRL(x, &der))
        var bytes = Array(UnsafeBufferPointer(start: der!, count: n))
        capgate_openssl_free(der)
        bytes[n - 1] ^= 0x01
        let tampered = try bytes.withUnsafeBufferPointer { buffer -> OpaquePointer in
            var p: UnsafePointer<UInt8>? = buffer.baseAddress
            return try #require(d2i_X509_CRL(nil, &p, n))
        }
        defer { X509_CRL_free(tampered) }
        return BindingCA.write { PEM_write_bio_X509_CRL($0, tampered) }
    }
}
