import CapgateX509
import COpenSSL
import COpenSSLShims

/// An owned X.509 certificate (OpenSSL `X509`). The gateway, the CLI and the tests read
/// identities and validity through this type so no caller parses DER itself.
public final class Certificate: @unchecked Sendable, CustomStringConvertible {
    // @unchecked Sendable: the X509 is never mutated after it is signed or parsed. OpenSSL 3
    // caches decoded extensions inside the object under its own lock, so concurrent readers
    // are safe.

    let object: OwnedX509
    var pointer: OpaquePointer { object.pointer }

    init(_ object: OwnedX509) { self.object = object }
    /// Takes ownership of a freshly built or parsed `X509 *`.
    convenience init(owning pointer: OpaquePointer) { self.init(OwnedX509(owning: pointer)) }

    /// Parses the first certificate of a PEM file.
    public convenience init(pem: [UInt8]) throws(PKIError) {
        do throws(X509Error) { self.init(try PEM.firstCertificate(pem)) } catch { throw PKIError(error) }
    }

    /// Parses one DER certificate; trailing bytes are refused (one object, nothing smuggled).
    public convenience init(der: [UInt8]) throws(PKIError) {
        do throws(X509Error) {
            self.init(try DER.certificate(der))
        } catch where error.kind == .trailingData {
            throw .invalidInput(field: "DER certificate", reason: "trailing bytes after the certificate")
        } catch {
            throw PKIError(error)
        }
    }

    /// Parses every certificate of a PEM bundle (a trust bundle may hold several CAs). Strict,
    /// like the gateway's reader: a corrupt block anywhere fails the whole bundle.
    public static func all(pem: [UInt8]) throws(PKIError) -> [Certificate] {
        do throws(X509Error) {
            return try PEM.certificates(pem).map(Certificate.init)
        } catch where error.kind == .noObject {
            throw .invalidInput(field: "PEM bundle", reason: "no certificate found")
        } catch {
            throw PKIError(error)
        }
    }

    /// PEM text ("-----BEGIN CERTIFICATE-----").
    public func pemBytes() throws(PKIError) -> [UInt8] {
        do throws(X509Error) { return try PEM.encode(certificate: pointer) } catch { throw PKIError(error) }
    }

    /// PEM as a String (certificates are public; printing them is fine).
    public func pem() throws(PKIError) -> String { String(decoding: try pemBytes(), as: UTF8.self) }

    /// DER encoding.
    public func derBytes() throws(PKIError) -> [UInt8] {
        OpenSSLErrorQueue.clear()
        let len = i2d_X509(pointer, nil)
        guard len > 0 else { throw opensslError("i2d_X509") }
        var out = [UInt8](repeating: 0, count: Int(len))
        let written = out.withUnsafeMutableBufferPointer { buf -> Int32 in
            var cursor: UnsafeMutablePointer<UInt8>? = buf.baseAddress
            return i2d_X509(pointer, &cursor)
        }
        guard written == len else { throw opensslError("i2d_X509") }
        return out
    }

    /// Subject DN in RFC 2253 form ("CN=alice").
    public var subject: String { OSSL.nameString(X509_get_subject_name(pointer)) }
    /// Issuer DN in RFC 2253 form.
    public var issuer: String { OSSL.nameString(X509_get_issuer_name(pointer)) }
    /// Serial as canonical lowercase hex (what `index.json` and `pki revoke --serial` use).
    public var serialHex: String { SerialNumber.hex(X509_get0_serialNumber(pointer)) ?? "" }
    /// Start of validity, Unix seconds (UTC).
    public var notBefore: Int64 { ASN1Time.unixSeconds(X509_get0_notBefore(pointer)) ?? Int64.min }
    /// End of validity, Unix seconds (UTC).
    public var notAfter: Int64 { ASN1Time.unixSeconds(X509_get0_notAfter(pointer)) ?? Int64.min }

    /// True when basicConstraints says CA:TRUE (OpenSSL's EXFLAG_CA). A leaf with this set
    /// must never be accepted as a client identity (SPIFFE X.509-SVID section 4.1).
    public var isCA: Bool { X509_get_extension_flags(pointer) & UInt32(EXFLAG_CA) != 0 }

    /// All URI SANs in certificate order. The gateway requires exactly one `spiffe://` entry.
    public var uriSANs: [String] { subjectAltNames(of: GEN_URI) }
    /// All DNS SANs in certificate order.
    public var dnsSANs: [String] { subjectAltNames(of: GEN_DNS) }
    /// All IP SANs as text ("127.0.0.1", "::1").
    public var ipSANs: [String] { subjectAltNames(of: GEN_IPADD) }
    /// The URIs of the cRLDistributionPoints extension (every fullName point, in order);
    /// empty when the extension is absent or unreadable.
    public var crlDistributionURIs: [String] {
        let need = capgate_x509_crl_distribution_uris(pointer, nil, 0)
        guard need > 0 else { OpenSSLErrorQueue.clear(); return [] }
        var buf = [CChar](repeating: 0, count: Int(need))
        guard capgate_x509_crl_distribution_uris(pointer, &buf, need) == need else { return [] }
        OpenSSLErrorQueue.clear()
        return buf.split(separator: 0, omittingEmptySubsequences: false).dropLast()
            .map { String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
    }

    /// True when `key` is the private half of this certificate's public key.
    public func matches(_ key: PrivateKey) -> Bool {
        let ok = X509_check_private_key(pointer, key.pointer) == 1
        OpenSSLErrorQueue.clear()
        return ok
    }

    /// True at `time` (Unix seconds) when notBefore <= time <= notAfter (RFC 5280 4.1.2.5).
    public func isValid(at time: Int64) -> Bool { notBefore <= time && time <= notAfter }

    public var description: String {
        "Certificate(subject: \(subject), serial: \(serialHex), uris: \(uriSANs), ca: \(isCA))"
    }

    /// Reads the SubjectAltName entries of one GENERAL_NAME type as strings (IP addresses as
    /// text); an entry without a value reads as "".
    private func subjectAltNames(of type: Int32) -> [String] {
        guard case .entries(let entries) = SubjectAltNames.read(pointer) else { return [] }
        return entries.filter { $0.type == type }.map { entry in
            guard let bytes = entry.bytes else { return "" }
            return type == GEN_IPADD ? IPAddressText.format(bytes) : String(decoding: bytes, as: UTF8.self)
        }
    }
}
