import CapgatePKI
import COpenSSL
import Testing
import CapgateX509

/// The one PEM/DER/CRL reader, on material issued by CapgatePKI (the test PKI).
@Suite struct PEMTests {
    static let now: Int64 = 1_800_000_000

    private func twoCAs() throws -> (CertificateAuthority, CertificateAuthority) {
        (try CertificateAuthority.create(trustDomain: "a.example", now: Self.now),
         try CertificateAuthority.create(trustDomain: "b.example", now: Self.now))
    }

    @Test func bundleReadsEveryCertificateInOrder() throws {
        let (a, b) = try twoCAs()
        let certs = try PEM.certificates(try a.certificate.pemBytes() + b.certificate.pemBytes())
        defer { withExtendedLifetime(certs) {} }
        #expect(certs.count == 2)
        #expect(try certs.map { try PEM.encode(certificate: $0.pointer) }
                == [try a.certificate.pemBytes(), try b.certificate.pemBytes()])
    }

    /// A corrupt block after valid ones fails the whole bundle: a half-read trust bundle or CRL
    /// set must never be used as if it were complete.
    @Test func corruptTrailingBlockFailsTheBundle() throws {
        let (a, _) = try twoCAs()
        let corrupt = Array("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".utf8)
        let bundle = try a.certificate.pemBytes() + corrupt
        do throws(X509Error) {
            _ = try PEM.certificates(bundle)
            Issue.record("a bundle with a corrupt block parsed")
        } catch {
            #expect(error.kind == .malformed)
            #expect(error.operation == "PEM_read_bio_X509")
            #expect(!error.openSSLErrors.isEmpty)
        }
        // The first-object reader (a chain file read for its leaf) still takes the leaf.
        let leaf = try PEM.firstCertificate(bundle)
        defer { withExtendedLifetime(leaf) {} }
        #expect(try PEM.encode(certificate: leaf.pointer) == a.certificate.pemBytes())
    }

    @Test func emptyOrForeignInputHasNoObject() {
        for input in [[], Array("not PEM at all".utf8)] as [[UInt8]] {
            do {
                _ = try PEM.certificates(input)
                Issue.record("parsed a bundle from \(input)")
            } catch {
                #expect(error.kind == .noObject)
            }
        }
    }

    @Test func privateKeyRoundTrip() throws {
        let key = try PrivateKey.generate()
        let pem = try key.pemBytes()
        let owned = try PEM.privateKey(pem)
        defer { withExtendedLifetime(owned) {} }
        #expect(try PEM.encode(privateKey: owned.pointer) == pem)
        #expect(throws: X509Error.self) { try PEM.privateKey(Array("garbage".utf8)) }
    }

    @Test func derReaderRefusesTrailingBytes() throws {
        let (a, _) = try twoCAs()
        let der = try a.certificate.derBytes()
        _ = try DER.certificate(der)
        for (input, kind) in [(der + [0], X509Error.Kind.trailingData), (Array(der.dropLast()), .malformed), ([], .malformed)] {
            do {
                _ = try DER.certificate(input)
                Issue.record("parsed \(input.count) bytes")
            } catch {
                #expect(error.kind == kind)
            }
        }
    }

    @Test func crlReaderCollectsEverySerialOfEveryCRL() throws {
        let (a, b) = try twoCAs()
        let fromA = try a.issueAgent(name: "alice", now: Self.now).certificate
        let fromB = try b.issueAgent(name: "bob", now: Self.now).certificate
        var builderA = CRLBuilder(authority: a)
        try builderA.revoke(serialHex: fromA.serialHex, at: Self.now)
        var builderB = CRLBuilder(authority: b)
        try builderB.revoke(serialHex: fromB.serialHex.uppercased(), at: Self.now - 5)
        let pem = try builderA.build(crlNumber: 1, thisUpdate: Self.now).pemBytes()
            + builderB.build(crlNumber: 1, thisUpdate: Self.now).pemBytes()

        #expect(try CRL.revokedSerials(inPEM: pem) == [fromA.serialHex, fromB.serialHex])
        let crls = try PEM.crls(pem)
        defer { withExtendedLifetime(crls) {} }
        #expect(CRL.entries(of: crls[1].pointer) == [CRL.Entry(serialHex: fromB.serialHex, revokedAt: Self.now - 5)])
        #expect(throws: X509Error.self) { try CRL.revokedSerials(inPEM: try a.certificate.pemBytes()) }
    }

    @Test func subjectAltNamesOfAnAgentLeaf() throws {
        let (a, _) = try twoCAs()
        let leaf = try a.issueAgent(name: "alice", now: Self.now).certificate
        let owned = try DER.certificate(try leaf.derBytes())
        defer { withExtendedLifetime(owned) {} }
        guard case .entries(let entries) = SubjectAltNames.read(owned.pointer) else {
            Issue.record("no SAN entries")
            return
        }
        #expect(entries == [.init(type: GEN_URI, bytes: Array("spiffe://a.example/agent/alice".utf8))])
    }
}
