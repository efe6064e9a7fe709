import Testing
@testable import CapgatePKI

@Suite struct CertificateEncodingTests {
    @Test func pemAndDERRoundTrip() throws {
        let ca = try CertificateAuthority.create(trustDomain: "example.org", now: testNow)
        let leaf = try ca.issueAgent(name: "alice", now: testNow).certificate
        let pem = try leaf.pemBytes()
        #expect(String(decoding: pem, as: UTF8.self).hasPrefix("-----BEGIN CERTIFICATE-----\n"))
        let fromPEM = try Certificate(pem: pem)
        let der = try leaf.derBytes()
        #expect(try fromPEM.derBytes() == der)
        let fromDER = try Certificate(der: der)
        #expect(fromDER.serialHex == leaf.serialHex)
        #expect(fromDER.notAfter == leaf.notAfter)
        #expect(throws: PKIError.self) { try Certificate(der: der + [0]) }
        #expect(throws: PKIError.self) { try Certificate(der: Array(der.dropLast())) }
        #expect(throws: PKIError.self) { try Certificate(pem: Array("not a certificate".utf8)) }
    }

    @Test func bundleParsesEveryCertificate() throws {
        let a = try CertificateAuthority.create(trustDomain: "a.example", now: testNow)
        let b = try CertificateAuthority.create(trustDomain: "b.example", now: testNow)
        let bundle = try a.certificate.pemBytes() + b.certificate.pemBytes()
        let certs = try Certificate.all(pem: bundle)
        #expect(certs.map(\.uriSANs) == [["spiffe://a.example"], ["spiffe://b.example"]])
        #expect(throws: PKIError.self) { try Certificate.all(pem: []) }
    }

    @Test func privateKeyRoundTripsAndNeverPrints() throws {
        let key = try PrivateKey.generate()
        let pem = try key.pemBytes()
        #expect(String(decoding: pem, as: UTF8.self).hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        let again = try PrivateKey(pem: pem)
        #expect(try again.publicKeyPEM() == key.publicKeyPEM())
        #expect(!"\(key)".contains("BEGIN"))
        #expect("\(key)".contains("redacted"))
        #expect(throws: PKIError.self) { try PrivateKey(pem: Array("garbage".utf8)) }
        #expect(try PrivateKey.generate(.p384).bits == 384)
    }

    @Test func openSSLErrorsCarryTheQueueText() throws {
        do {
            _ = try PrivateKey(pem: Array("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".utf8))
            Issue.record("garbage key parsed")
        } catch {
            guard case .openssl(let op, let details) = error else { Issue.record("\(error)"); return }
            #expect(op == "PEM_read_bio_PrivateKey")
            #expect(details != "no OpenSSL error detail")
        }
    }

    @Test func serialNormalization() {
        #expect(SerialNumber.normalize("00AbC") == "abc")
        #expect(SerialNumber.normalize("000") == "0")
        #expect(SerialNumber.isValidHex("deadBEEF"))
        #expect(!SerialNumber.isValidHex("xyz"))
        #expect(!SerialNumber.isValidHex(String(repeating: "a", count: 41)))
    }
}
