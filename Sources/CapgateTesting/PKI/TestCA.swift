import CapgatePKI
import Foundation

/// The test PKI: throwaway CAs and leaves issued through CapgatePKI's public API
/// (`CertificateAuthority`, `LeafSpec`, `CRLBuilder`), so tests exercise the same code that
/// issues real certificates. `LeafSpec` is the knob for the shapes production must refuse
/// (two URI SANs, CA leaves, serverAuth-only, expired, not yet valid...).
///
/// Test set-up that cannot work is a broken test, not a condition to handle: failures stop
/// the test process with the PKI error.
public final class TestCA: Sendable {
    public let authority: CertificateAuthority
    /// The CA certificate and key.
    public let identity: TestIdentity

    /// A self-signed CA (CapgatePKI's profile: critical CA:TRUE, keyCertSign + cRLSign,
    /// a `spiffe://trustDomain` URI SAN), subject CN=`commonName`. `pathLength` nil lets it
    /// sign intermediate CAs (the capgate profile's 0 does not).
    public init(_ commonName: String, trustDomain: String = "example.org", pathLength: Int? = 0) {
        authority = must { () throws(PKIError) in
            try CertificateAuthority.create(trustDomain: trustDomain, commonName: commonName, pathLength: pathLength)
        }
        identity = TestIdentity(authority.certificate, authority.privateKey)
    }

    public var certPEM: [UInt8] { identity.certPEM }
    public var der: [UInt8] { identity.der }

    /// Issues a leaf named `commonName` with a fixed `serial`, valid from `validFrom` to
    /// `validUntil` seconds relative to now. The spec starts as a correct client SVID (EKU
    /// clientAuth, critical digitalSignature, critical CA:FALSE, no SAN); `edit` shapes it.
    public func issue(_ commonName: String, serial: Int, validFrom: Int64 = -3600, validUntil: Int64 = 86_400,
                      _ edit: (inout LeafSpec) -> Void = { _ in }) -> TestIdentity {
        let now = TestCA.now()
        var spec = LeafSpec(commonName: commonName, notBefore: now + validFrom, notAfter: now + validUntil)
        spec.serialHex = String(serial, radix: 16)
        edit(&spec)
        let issued = must { () throws(PKIError) in try authority.issueLeaf(spec) }
        return TestIdentity(issued.certificate, issued.privateKey)
    }

    /// A client SVID with one URI SAN (`spiffe://...`), or any SAN list given.
    public func client(_ commonName: String, serial: Int, uris: [String], validFrom: Int64 = -3600,
                       validUntil: Int64 = 86_400) -> TestIdentity {
        issue(commonName, serial: serial, validFrom: validFrom, validUntil: validUntil) { $0.uriSANs = uris }
    }

    /// A leaf that is a CA (critical CA:TRUE, no keyUsage or EKU) with one URI SAN: a peer
    /// must refuse it as a client identity.
    public func caLeaf(_ commonName: String, serial: Int, uri: String) -> TestIdentity {
        issue(commonName, serial: serial) {
            $0.basicConstraints = .ca(pathLength: nil)
            $0.keyUsage = nil
            $0.extendedKeyUsage = nil
            $0.uriSANs = [uri]
        }
    }

    /// A client-shaped leaf whose only EKU is serverAuth: no clientAuth, so refused.
    public func serverAuthOnly(_ commonName: String, serial: Int, uri: String) -> TestIdentity {
        issue(commonName, serial: serial) {
            $0.extendedKeyUsage = [.serverAuth]
            $0.uriSANs = [uri]
        }
    }

    /// A server leaf for localhost / 127.0.0.1 (EKU serverAuth).
    public func server(serial: Int) -> TestIdentity {
        issue("localhost", serial: serial) {
            $0.extendedKeyUsage = [.serverAuth]
            $0.dnsSANs = ["localhost"]
            $0.ipSANs = ["127.0.0.1"]
        }
    }

    /// A PEM CRL signed by this CA revoking `serials`; it was issued a minute ago and its
    /// nextUpdate is `nextUpdate` seconds from now (negative: already stale).
    public func crl(revoking serials: [Int], nextUpdate: Int64 = 86_400) -> [UInt8] {
        let now = TestCA.now()
        let thisUpdate = min(now, now + nextUpdate) - 60
        return must { () throws(PKIError) in
            var builder = CRLBuilder(authority: authority)
            for serial in serials { try builder.revoke(serialHex: String(serial, radix: 16), at: thisUpdate) }
            return try builder.build(crlNumber: 1, thisUpdate: thisUpdate,
                                     validity: .seconds(now + nextUpdate - thisUpdate)).pemBytes()
        }
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }
}

/// A certificate with its private key, in the forms tests hand to TLS configurations,
/// files and parsers.
public final class TestIdentity: Sendable {
    public let certificate: Certificate
    public let privateKey: PrivateKey
    public let certPEM: [UInt8]
    public let keyPEM: [UInt8]
    public let der: [UInt8]

    public init(_ certificate: Certificate, _ privateKey: PrivateKey) {
        self.certificate = certificate
        self.privateKey = privateKey
        certPEM = must { () throws(PKIError) in try certificate.pemBytes() }
        keyPEM = must { () throws(PKIError) in try privateKey.pemBytes() }
        der = must { () throws(PKIError) in try certificate.derBytes() }
    }
}

/// Runs test set-up that must succeed.
func must<T>(_ body: () throws(PKIError) -> T) -> T {
    do { return try body() } catch { fatalError("test PKI: \(error)") }
}
