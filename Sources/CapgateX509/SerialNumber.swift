import COpenSSL
import COpenSSLShims

/// Certificate serial numbers as text: the one normalizer of the TLS and PKI layers.
///
/// The canonical form is lowercase hexadecimal without leading zeros ("0" stays "0"). WHY one
/// form: OpenSSL prints whole bytes ("0A1B"), other tools print nibbles or uppercase, and the
/// index, `pki revoke --serial`, CRL draining and audit logs must all compare the same string.
public enum SerialNumber {
    /// True for 1-40 hex digits (RFC 5280 caps serials at 20 octets).
    public static func isValidHex(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 40 && s.utf8.allSatisfy {
            ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || ($0 >= 65 && $0 <= 70)
        }
    }

    /// Canonical form: lowercase, leading zeros removed ("0A1b" -> "a1b"; "000" -> "0").
    public static func normalize(_ s: String) -> String {
        let trimmed = s.lowercased().drop { $0 == "0" }
        return trimmed.isEmpty ? "0" : String(trimmed)
    }

    /// The canonical hex of an `ASN1_INTEGER` serial; nil when OpenSSL cannot convert it.
    public static func hex(_ integer: UnsafePointer<ASN1_INTEGER>?) -> String? {
        guard let integer, let bn = ASN1_INTEGER_to_BN(integer, nil) else { return nil }
        defer { BN_free(bn) }
        return hex(bignum: bn)
    }

    /// The canonical hex of a `BIGNUM`, freeing OpenSSL's buffer.
    public static func hex(bignum: OpaquePointer) -> String? {
        guard let text = BN_bn2hex(bignum) else { return nil }
        defer { capgate_openssl_free(text) }
        return normalize(String(cString: text))
    }
}
