import CapgateX509
import COpenSSL
import COpenSSLShims
#if canImport(Glibc)
import Glibc
#endif

/// The PKI's own bridges between OpenSSL's C types and Swift values (building times, serials
/// and names for new certificates). Reading (PEM, DER, serials, times, SANs, CRLs) is the
/// X.509 layer's (`CapgateX509`). Every function here owns and frees what it allocates.
enum OSSL {
    /// Unix seconds -> a new ASN1_TIME (caller frees with ASN1_TIME_free). OpenSSL picks
    /// UTCTime before 2050 and GeneralizedTime after, as RFC 5280 section 4.1.2.5 requires.
    static func asn1Time(_ seconds: Int64) throws(PKIError) -> UnsafeMutablePointer<ASN1_TIME> {
        OpenSSLErrorQueue.clear()
        return try require(ASN1_TIME_set(nil, time_t(seconds)), "ASN1_TIME_set")
    }

    /// A fresh random 128-bit positive serial (RFC 5280 section 4.1.2.2: positive, at most
    /// 20 octets; CA/B Forum asks for at least 64 bits of CSPRNG output). The top bit is forced
    /// to 1 so every serial prints as exactly 32 hex digits.
    static func randomSerial() throws(PKIError) -> UnsafeMutablePointer<ASN1_INTEGER> {
        OpenSSLErrorQueue.clear()
        let bn = try require(BN_new(), "BN_new")
        defer { BN_free(bn) }
        try check(BN_rand(bn, 128, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY), "BN_rand")
        return try require(BN_to_ASN1_INTEGER(bn, nil), "BN_to_ASN1_INTEGER")
    }

    /// Hex serial -> a new ASN1_INTEGER (caller frees). Rejects anything but 1-40 hex digits.
    static func asn1Serial(hex: String) throws(PKIError) -> UnsafeMutablePointer<ASN1_INTEGER> {
        guard SerialNumber.isValidHex(hex) else {
            throw .invalidInput(field: "serial", reason: "expected 1-40 hexadecimal digits")
        }
        OpenSSLErrorQueue.clear()
        var bn: OpaquePointer? = nil
        guard BN_hex2bn(&bn, hex) > 0, let bn else { throw opensslError("BN_hex2bn") }
        defer { BN_free(bn) }
        return try require(BN_to_ASN1_INTEGER(bn, nil), "BN_to_ASN1_INTEGER")
    }

    /// Builds an X509_NAME from (field, value) pairs such as ("CN", "agent"). UTF-8 strings,
    /// added one RDN per attribute. Caller frees with X509_NAME_free.
    static func name(_ attributes: [(String, String)]) throws(PKIError) -> OpaquePointer {
        OpenSSLErrorQueue.clear()
        let name = try require(X509_NAME_new(), "X509_NAME_new")
        for (field, value) in attributes {
            let bytes = Array(value.utf8)
            let ok = bytes.withUnsafeBufferPointer {
                X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, $0.baseAddress,
                                           Int32($0.count), -1, 0)
            }
            if ok != 1 { X509_NAME_free(name); throw opensslError("X509_NAME_add_entry_by_txt(\(field))") }
        }
        return name
    }

    /// X509_NAME -> RFC 2253 string ("CN=agent,O=example.org").
    static func nameString(_ name: OpaquePointer?) -> String {
        guard let name else { return "" }
        let bytes = try? MemoryBIO.collecting("X509_NAME_print_ex") { bio in
            X509_NAME_print_ex(bio, name, 0, capgate_name_flags_rfc2253()) >= 0 ? 1 : 0
        }
        return bytes.map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// Current Unix time in seconds (the default clock when a caller passes no `now`).
    static func now() -> Int64 { Int64(time(nil)) }
}

/// The canonical serial form (lowercase hex, no leading zeros) of `index.json`, the CLI and the
/// gateway; kept under its PKI name for source compatibility.
public typealias SerialNumber = CapgateX509.SerialNumber

/// A NUL-terminated C string as a Swift String (invalid UTF-8 is repaired, never trusted).
func cString(_ p: UnsafePointer<CChar>) -> String {
    String(decoding: UnsafeRawBufferPointer(start: p, count: strlen(p)), as: UTF8.self)
}

/// A NUL-terminated C buffer as a Swift String.
func cString(_ buf: [CChar]) -> String {
    buf.withUnsafeBufferPointer { cString($0.baseAddress!) }
}
