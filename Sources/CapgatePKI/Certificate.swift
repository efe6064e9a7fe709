import COpenSSL
import CShims

/// An owned X.509 certificate (OpenSSL `X509`). The gateway, the CLI and the tests read
/// identities and validity through this type so no caller parses DER itself.
public final class Certificate: @unchecked Sendable, CustomStringConvertible {
    // @unchecked Sendable: the X509 is never mutated after it is signed or parsed. OpenSSL 3
    // caches decoded extensions inside the object under its own lock, so concurrent readers
    // are safe.

    let pointer: OpaquePointer

    init(owning pointer: OpaquePointer) { self.pointer = pointer }
    deinit { X509_free(pointer) }

    /// Parses the first certificate of a PEM file.
    public convenience init(pem: [UInt8]) throws(PKIError) {
        let x = try OSSL.withReadBIO(pem) { bio in PEM_read_bio_X509(bio, nil, { _, _, _, _ in 0 }, nil) }
        guard let x else { throw opensslError("PEM_read_bio_X509") }
        self.init(owning: x)
    }

    /// Parses one DER certificate; trailing bytes are refused (one object, nothing smuggled).
    public convenience init(der: [UInt8]) throws(PKIError) {
        clearOpenSSLErrors()
        let parsed: (OpaquePointer?, Int) = der.withUnsafeBufferPointer { buf in
            var cursor: UnsafePointer<UInt8>? = buf.baseAddress
            let x = d2i_X509(nil, &cursor, buf.count)
            let used = cursor.map { $0 - buf.baseAddress! } ?? 0
            return (x, used)
        }
        guard let x = parsed.0 else { throw opensslError("d2i_X509") }
        guard parsed.1 == der.count else {
            X509_free(x)
            throw .invalidInput(field: "DER certificate", reason: "trailing bytes after the certificate")
        }
        self.init(owning: x)
    }

    /// Parses every certificate of a PEM bundle (a trust bundle may hold several CAs).
    public static func all(pem: [UInt8]) throws(PKIError) -> [Certificate] {
        let certs: [Certificate]? = try OSSL.withReadBIO(pem) { bio in
            var out: [Certificate] = []
            while let x = PEM_read_bio_X509(bio, nil, { _, _, _, _ in 0 }, nil) { out.append(Certificate(owning: x)) }
            return out
        }
        // The loop ends on "no start line" at EOF: that is expected, not an error.
        clearOpenSSLErrors()
        guard let certs, !certs.isEmpty else {
            throw .invalidInput(field: "PEM bundle", reason: "no certificate found")
        }
        return certs
    }

    /// PEM text ("-----BEGIN CERTIFICATE-----").
    public func pemBytes() throws(PKIError) -> [UInt8] {
        try OSSL.withMemoryBIO("PEM_write_bio_X509") { bio in PEM_write_bio_X509(bio, pointer) }
    }

    /// PEM as a String (certificates are public; printing them is fine).
    public func pem() throws(PKIError) -> String { String(decoding: try pemBytes(), as: UTF8.self) }

    /// DER encoding.
    public func derBytes() throws(PKIError) -> [UInt8] {
        clearOpenSSLErrors()
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
    public var serialHex: String { OSSL.serialHex(X509_get0_serialNumber(pointer)) }
    /// Start of validity, Unix seconds (UTC).
    public var notBefore: Int64 { OSSL.unixSeconds(X509_get0_notBefore(pointer)) ?? Int64.min }
    /// End of validity, Unix seconds (UTC).
    public var notAfter: Int64 { OSSL.unixSeconds(X509_get0_notAfter(pointer)) ?? Int64.min }

    /// True when basicConstraints says CA:TRUE (OpenSSL's EXFLAG_CA). A leaf with this set
    /// must never be accepted as a client identity (SPIFFE X.509-SVID section 4.1).
    public var isCA: Bool { X509_get_extension_flags(pointer) & UInt32(EXFLAG_CA) != 0 }

    /// All URI SANs in certificate order. The gateway requires exactly one `spiffe://` entry.
    public var uriSANs: [String] { subjectAltNames(of: GEN_URI) }
    /// All DNS SANs in certificate order.
    public var dnsSANs: [String] { subjectAltNames(of: GEN_DNS) }
    /// All IP SANs as text ("127.0.0.1", "::1").
    public var ipSANs: [String] { subjectAltNames(of: GEN_IPADD) }

    /// True when `key` is the private half of this certificate's public key.
    public func matches(_ key: PrivateKey) -> Bool {
        let ok = X509_check_private_key(pointer, key.pointer) == 1
        clearOpenSSLErrors()
        return ok
    }

    /// True at `time` (Unix seconds) when notBefore <= time <= notAfter (RFC 5280 4.1.2.5).
    public func isValid(at time: Int64) -> Bool { notBefore <= time && time <= notAfter }

    public var description: String {
        "Certificate(subject: \(subject), serial: \(serialHex), uris: \(uriSANs), ca: \(isCA))"
    }

    /// Reads the SubjectAltName entries of one GENERAL_NAME type as strings.
    private func subjectAltNames(of type: Int32) -> [String] {
        var critical: Int32 = 0
        guard let raw = X509_get_ext_d2i(pointer, NID_subject_alt_name, &critical, nil) else {
            clearOpenSSLErrors()
            return []
        }
        let names = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(names) }
        var out: [String] = []
        for i in 0..<capgate_pki_general_names_count(names) {
            guard let gen = capgate_pki_general_names_at(names, i) else { continue }
            guard gen.pointee.type == type else { continue }
            switch type {
            case GEN_URI: out.append(Self.ia5(gen.pointee.d.uniformResourceIdentifier))
            case GEN_DNS: out.append(Self.ia5(gen.pointee.d.dNSName))
            case GEN_IPADD: out.append(Self.ipText(gen.pointee.d.iPAddress))
            default: break
            }
        }
        return out
    }

    /// An IA5String's bytes as a String (the ASCII bytes of a URI or DNS name).
    static func ia5(_ s: UnsafeMutablePointer<ASN1_STRING>?) -> String {
        guard let s, let data = ASN1_STRING_get0_data(s) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(s))), as: UTF8.self)
    }

    /// A 4- or 16-byte iPAddress OCTET STRING as dotted quad or RFC 5952 text.
    static func ipText(_ s: UnsafeMutablePointer<ASN1_STRING>?) -> String {
        guard let s, let data = ASN1_STRING_get0_data(s) else { return "" }
        let bytes = Array(UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(s))))
        return IPAddressText.format(bytes)
    }
}
