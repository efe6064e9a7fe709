import COpenSSL
import CShims
#if canImport(Glibc)
import Glibc
#endif

/// Small internal bridges between OpenSSL's C types and Swift values. Every function here
/// owns and frees what it allocates, so callers never see a raw pointer they must release.
enum OSSL {
    /// Runs `body` with a fresh memory BIO and returns everything written to it.
    static func withMemoryBIO(_ operation: String,
                              _ body: (OpaquePointer) -> Int32) throws(PKIError) -> [UInt8] {
        clearOpenSSLErrors()
        let bio = try require(BIO_new(BIO_s_mem()), "BIO_new")
        defer { BIO_free(bio) }
        try check(body(bio), operation)
        var data: UnsafePointer<CChar>? = nil
        let len = capgate_pki_bio_mem_data(bio, &data)
        guard len >= 0, let data else { throw opensslError("BIO_get_mem_data") }
        return data.withMemoryRebound(to: UInt8.self, capacity: len) {
            Array(UnsafeBufferPointer(start: $0, count: len))
        }
    }

    /// Runs `body` with a read-only memory BIO over `bytes` (PEM/DER input).
    static func withReadBIO<T>(_ bytes: [UInt8],
                               _ body: (OpaquePointer) -> T?) throws(PKIError) -> T? {
        // A memory BIO length is an Int32; PEM inputs this large are never legitimate.
        guard bytes.count < Int(Int32.max) else {
            throw .invalidInput(field: "PEM/DER input", reason: "too large")
        }
        clearOpenSSLErrors()
        let result: T?? = bytes.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return .some(body(bio))
        }
        guard let result else { throw opensslError("BIO_new_mem_buf") }
        return result
    }

    /// ASN1_TIME -> Unix seconds (UTC), via broken-down time so both UTCTime and
    /// GeneralizedTime (RFC 5280 section 4.1.2.5) convert the same way.
    static func unixSeconds(_ time: UnsafePointer<ASN1_TIME>?) -> Int64? {
        guard let time else { return nil }
        var tm = tm()
        guard ASN1_TIME_to_tm(time, &tm) == 1 else { return nil }
        return Int64(timegm(&tm))
    }

    /// Unix seconds -> a new ASN1_TIME (caller frees with ASN1_TIME_free). OpenSSL picks
    /// UTCTime before 2050 and GeneralizedTime after, as RFC 5280 section 4.1.2.5 requires.
    static func asn1Time(_ seconds: Int64) throws(PKIError) -> UnsafeMutablePointer<ASN1_TIME> {
        clearOpenSSLErrors()
        return try require(ASN1_TIME_set(nil, time_t(seconds)), "ASN1_TIME_set")
    }

    /// ASN1_INTEGER serial -> lowercase hex without sign (serials we issue are positive).
    static func serialHex(_ integer: UnsafePointer<ASN1_INTEGER>?) -> String {
        guard let integer, let bn = ASN1_INTEGER_to_BN(integer, nil) else { return "" }
        defer { BN_free(bn) }
        return bignumHex(bn)
    }

    /// BIGNUM -> canonical lowercase hex (`SerialNumber.normalize`), freeing OpenSSL's buffer.
    static func bignumHex(_ bn: OpaquePointer) -> String {
        guard let hex = BN_bn2hex(bn) else { return "" }
        defer { capgate_pki_openssl_free(hex) }
        return SerialNumber.normalize(cString(hex))
    }

    /// A fresh random 128-bit positive serial (RFC 5280 section 4.1.2.2: positive, at most
    /// 20 octets; CA/B Forum asks for at least 64 bits of CSPRNG output). The top bit is forced
    /// to 1 so every serial prints as exactly 32 hex digits.
    static func randomSerial() throws(PKIError) -> UnsafeMutablePointer<ASN1_INTEGER> {
        clearOpenSSLErrors()
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
        clearOpenSSLErrors()
        var bn: OpaquePointer? = nil
        guard BN_hex2bn(&bn, hex) > 0, let bn else { throw opensslError("BN_hex2bn") }
        defer { BN_free(bn) }
        return try require(BN_to_ASN1_INTEGER(bn, nil), "BN_to_ASN1_INTEGER")
    }

    /// Builds an X509_NAME from (field, value) pairs such as ("CN", "agent"). UTF-8 strings,
    /// added one RDN per attribute. Caller frees with X509_NAME_free.
    static func name(_ attributes: [(String, String)]) throws(PKIError) -> OpaquePointer {
        clearOpenSSLErrors()
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
        let bytes = try? withMemoryBIO("X509_NAME_print_ex") { bio in
            X509_NAME_print_ex(bio, name, 0, capgate_pki_name_flags_rfc2253()) >= 0 ? 1 : 0
        }
        return bytes.map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// Current Unix time in seconds (the default clock when a caller passes no `now`).
    static func now() -> Int64 { Int64(time(nil)) }
}

/// Helpers for the lowercase-hex serial form used across the API and the index.
public enum SerialNumber {
    /// True for 1-40 hex digits (RFC 5280 caps serials at 20 octets).
    public static func isValidHex(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 40 && s.utf8.allSatisfy {
            ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || ($0 >= 65 && $0 <= 70)
        }
    }

    /// Canonical form: lowercase, leading zeros removed ("0" stays "0"), so `pki revoke
    /// --serial` matches whatever case or padding the operator copied from another tool.
    public static func normalize(_ s: String) -> String {
        let lower = s.lowercased()
        let trimmed = lower.drop { $0 == "0" }
        return trimmed.isEmpty ? "0" : String(trimmed)
    }
}

/// A NUL-terminated C string as a Swift String (invalid UTF-8 is repaired, never trusted).
func cString(_ p: UnsafePointer<CChar>) -> String {
    String(decoding: UnsafeRawBufferPointer(start: p, count: strlen(p)), as: UTF8.self)
}

/// A NUL-terminated C buffer as a Swift String.
func cString(_ buf: [CChar]) -> String {
    buf.withUnsafeBufferPointer { cString($0.baseAddress!) }
}
