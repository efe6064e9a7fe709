import CapgatePKI
import CapgateTesting
import Testing
@testable import CapgateTLS

/// One test per SVID rule (docs/hardening.md "mTLS identity").
@Suite struct PeerIdentityTests {
    let pki = TestPKI.shared

    /// A leaf from the test CA: `edit` starts from a correct client SVID with no SAN.
    func leaf(serial: Int = 0x3000, _ edit: (inout LeafSpec) -> Void) -> [UInt8] {
        pki.ca.issue("leaf", serial: serial, edit).der
    }

    /// A leaf with no extension but those `edit` adds (and the SKI/AKI every issued
    /// certificate carries).
    func bareLeaf(_ edit: (inout LeafSpec) -> Void) -> [UInt8] {
        leaf {
            $0.basicConstraints = nil
            $0.keyUsage = nil
            $0.extendedKeyUsage = nil
            edit(&$0)
        }
    }

    @Test func goodSVIDYieldsIdentityExpiryAndSerial() throws {
        let now = CertificateReloader.unixNow()
        let identity = try PeerIdentity(leafDER: pki.goodClient.der)
        #expect(identity.spiffeID.description == TestPKI.goodID)
        #expect(identity.serialHex == "1001")
        // Factory: valid from now-1h to now+1d (allow a minute of test runtime).
        #expect(abs(identity.notAfter - (now + 86_400)) < 60)
        #expect(abs(identity.notBefore - (now - 3600)) < 60)
    }

    @Test func keyUsageAndEKUAreOptional() throws {
        let der = bareLeaf { $0.uriSANs = ["spiffe://example.org/minimal"] }
        #expect(try PeerIdentity(leafDER: der).spiffeID.path == "/minimal")
    }

    @Test func serialIsLowercaseHex() throws {
        let der = leaf(serial: 0xABCDEF) { $0.uriSANs = ["spiffe://example.org/s"] }
        #expect(try PeerIdentity(leafDER: der).serialHex == "abcdef")
    }

    @Test func noURISANIsRejected() {
        #expect(throws: PeerIdentityError.noURISAN) { try PeerIdentity(leafDER: pki.noURIClient.der) }
    }

    @Test func noSANExtensionIsRejected() {
        let der = bareLeaf { $0.basicConstraints = .leaf }
        #expect(throws: PeerIdentityError.noURISAN) { try PeerIdentity(leafDER: der) }
    }

    @Test func twoURISANsAreRejected() {
        #expect(throws: PeerIdentityError.multipleURISANs) { try PeerIdentity(leafDER: pki.twoURIClient.der) }
    }

    @Test func duplicateSANExtensionsAreRejected() {
        let der = bareLeaf {
            $0.uriSANs = ["spiffe://example.org/a", "spiffe://example.org/b"]
            $0.uriSANsAsSeparateExtensions = true
        }
        #expect(throws: PeerIdentityError.invalidExtensions) { try PeerIdentity(leafDER: der) }
    }

    @Test func nonSPIFFEURIIsRejected() {
        let der = leaf { $0.uriSANs = ["https://example.org/x"] }
        #expect(throws: PeerIdentityError.invalidSPIFFEID(.wrongScheme)) { try PeerIdentity(leafDER: der) }
    }

    @Test func uppercaseTrustDomainIsRejected() {
        let der = leaf { $0.uriSANs = ["spiffe://Example.org/x"] }
        #expect(throws: PeerIdentityError.invalidSPIFFEID(.invalidTrustDomainCharacter)) {
            try PeerIdentity(leafDER: der)
        }
    }

    @Test func trustDomainOnlyIDIsRejected() {
        let der = leaf { $0.uriSANs = ["spiffe://example.org"] }
        #expect(throws: PeerIdentityError.invalidSPIFFEID(.emptyPath)) { try PeerIdentity(leafDER: der) }
    }

    @Test func caLeafIsRejected() {
        #expect(throws: PeerIdentityError.leafIsCA) { try PeerIdentity(leafDER: pki.caLeafClient.der) }
        #expect(throws: PeerIdentityError.leafIsCA) { try PeerIdentity(leafDER: pki.ca.der) }
    }

    @Test func keyUsageWithoutDigitalSignatureIsRejected() {
        let der = bareLeaf {
            $0.keyUsage = .keyAgreement
            $0.uriSANs = ["spiffe://example.org/x"]
        }
        #expect(throws: PeerIdentityError.keyUsageMissingDigitalSignature) { try PeerIdentity(leafDER: der) }
    }

    @Test(arguments: ["digitalSignature,keyCertSign", "digitalSignature,cRLSign"])
    func keyUsageAllowingSigningIsRejected(_ usage: String) {
        let bits: [String: KeyUsage] = ["digitalSignature,keyCertSign": [.digitalSignature, .keyCertSign],
                                         "digitalSignature,cRLSign": [.digitalSignature, .cRLSign]]
        let der = bareLeaf {
            $0.keyUsage = bits[usage]
            $0.uriSANs = ["spiffe://example.org/x"]
        }
        #expect(throws: PeerIdentityError.keyUsageAllowsSigning) { try PeerIdentity(leafDER: der) }
    }

    @Test(arguments: ["serverAuth", "anyExtendedKeyUsage", "codeSigning,emailProtection"])
    func ekuWithoutClientAuthIsRejected(_ eku: String) {
        let der = bareLeaf {
            $0.extendedKeyUsage = eku.split(separator: ",").map { ExtendedKeyUsage(rawValue: String($0))! }
            $0.uriSANs = ["spiffe://example.org/x"]
        }
        #expect(throws: PeerIdentityError.extendedKeyUsageMissingClientAuth) { try PeerIdentity(leafDER: der) }
    }

    @Test func serverAuthOnlyFixtureIsRejected() {
        #expect(throws: PeerIdentityError.extendedKeyUsageMissingClientAuth) {
            try PeerIdentity(leafDER: pki.serverAuthOnlyClient.der)
        }
    }

    @Test func malformedDERIsRejected() {
        let good = pki.goodClient.der
        #expect(throws: PeerIdentityError.malformedCertificate) { try PeerIdentity(leafDER: []) }
        #expect(throws: PeerIdentityError.malformedCertificate) { try PeerIdentity(leafDER: Array("not a cert".utf8)) }
        #expect(throws: PeerIdentityError.malformedCertificate) { try PeerIdentity(leafDER: good + [0]) }
        #expect(throws: PeerIdentityError.malformedCertificate) { try PeerIdentity(leafDER: Array(good.dropLast())) }
        #expect(throws: PeerIdentityError.malformedCertificate) {
            try PeerIdentity(leafDER: [UInt8](repeating: 0x30, count: PeerIdentity.maxDERLength + 1))
        }
    }

    @Test func errorCodesAreDistinct() {
        let all: [PeerIdentityError] = [
            .noVerifiedCertificate, .malformedCertificate, .invalidExtensions, .noURISAN, .multipleURISANs,
            .invalidSPIFFEID(.tooLong), .leafIsCA, .keyUsageMissingDigitalSignature, .keyUsageAllowsSigning,
            .extendedKeyUsageMissingClientAuth, .trustDomainNotVouched,
        ]
        #expect(Set(all.map(\.code)).count == all.count)
        #expect(PeerIdentityError.invalidSPIFFEID(.hasPort).code == "identity_invalid_spiffe_id:spiffe_has_port")
    }
}
