import COpenSSL
import Testing
@testable import CapgateTLS

/// One test per SVID rule (hardening.md "mTLS identity"; X509-SVID.md sections 2 and 4).
@Suite struct PeerIdentityTests {
    let pki = TestPKI.shared

    func leaf(_ extensions: [(Int32, String)], serial: Int = 0x3000) -> [UInt8] {
        pki.ca.issue(cn: "leaf", serial: serial, extensions: extensions).der
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
        let der = leaf([(NID_subject_alt_name, "URI:spiffe://example.org/minimal")])
        #expect(try PeerIdentity(leafDER: der).spiffeID.path == "/minimal")
    }

    @Test func serialIsLowercaseHex() throws {
        let der = leaf(TestCertificateFactory.clientExtensions(san: "URI:spiffe://example.org/s"), serial: 0xABCDEF)
        #expect(try PeerIdentity(leafDER: der).serialHex == "abcdef")
    }

    @Test func noURISANIsRejected() {
        #expect(throws: PeerIdentityError.noURISAN) { try PeerIdentity(leafDER: pki.noURIClient.der) }
    }

    @Test func noSANExtensionIsRejected() {
        let der = leaf([(NID_basic_constraints, "critical,CA:FALSE")])
        #expect(throws: PeerIdentityError.noURISAN) { try PeerIdentity(leafDER: der) }
    }

    @Test func twoURISANsAreRejected() {
        #expect(throws: PeerIdentityError.multipleURISANs) { try PeerIdentity(leafDER: pki.twoURIClient.der) }
    }

    @Test func duplicateSANExtensionsAreRejected() {
        let der = leaf([
            (NID_subject_alt_name, "URI:spiffe://example.org/a"),
            (NID_subject_alt_name, "URI:spiffe://example.org/b"),
        ])
        #expect(throws: PeerIdentityError.invalidExtensions) { try PeerIdentity(leafDER: der) }
    }

    @Test func nonSPIFFEURIIsRejected() {
        let der = leaf(TestCertificateFactory.clientExtensions(san: "URI:https://example.org/x"))
        #expect(throws: PeerIdentityError.invalidSPIFFEID(.wrongScheme)) { try PeerIdentity(leafDER: der) }
    }

    @Test func uppercaseTrustDomainIsRejected() {
        let der = leaf(TestCertificateFactory.clientExtensions(san: "URI:spiffe://Example.org/x"))
        #expect(throws: PeerIdentityError.invalidSPIFFEID(.invalidTrustDomainCharacter)) {
            try PeerIdentity(leafDER: der)
        }
    }

    @Test func trustDomainOnlyIDIsRejected() {
        let der = leaf(TestCertificateFactory.clientExtensions(san: "URI:spiffe://example.org"))
        #expect(throws: PeerIdentityError.invalidSPIFFEID(.emptyPath)) { try PeerIdentity(leafDER: der) }
    }

    @Test func caLeafIsRejected() {
        #expect(throws: PeerIdentityError.leafIsCA) { try PeerIdentity(leafDER: pki.caLeafClient.der) }
        #expect(throws: PeerIdentityError.leafIsCA) { try PeerIdentity(leafDER: pki.ca.der) }
    }

    @Test func keyUsageWithoutDigitalSignatureIsRejected() {
        let der = leaf([
            (NID_key_usage, "critical,keyAgreement"),
            (NID_subject_alt_name, "URI:spiffe://example.org/x"),
        ])
        #expect(throws: PeerIdentityError.keyUsageMissingDigitalSignature) { try PeerIdentity(leafDER: der) }
    }

    @Test(arguments: ["digitalSignature,keyCertSign", "digitalSignature,cRLSign"])
    func keyUsageAllowingSigningIsRejected(_ usage: String) {
        let der = leaf([
            (NID_key_usage, "critical,\(usage)"),
            (NID_subject_alt_name, "URI:spiffe://example.org/x"),
        ])
        #expect(throws: PeerIdentityError.keyUsageAllowsSigning) { try PeerIdentity(leafDER: der) }
    }

    @Test(arguments: ["serverAuth", "anyExtendedKeyUsage", "codeSigning,emailProtection"])
    func ekuWithoutClientAuthIsRejected(_ eku: String) {
        let der = leaf([
            (NID_ext_key_usage, eku),
            (NID_subject_alt_name, "URI:spiffe://example.org/x"),
        ])
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
