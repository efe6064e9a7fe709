/// The URIs `capgate pki server --crl-url` puts in a server certificate's
/// cRLDistributionPoints (RFC 5280 section 4.2.1.13), checked before anything is signed.
///
/// WHY in the server certificate: a TLS scanner (testssl.sh's `cert_revocation`) and any
/// relying party that checks revocation look there for where the CA publishes its CRL; a
/// certificate without a CRL or OCSP URI cannot be checked at all (docs/hardening.md, "TLS
/// scan"). The value is an IA5String, so only printable ASCII is allowed.
public enum CRLDistributionURL {
    /// Longest URI accepted (bytes); a distribution point is a locator, not a payload.
    public static let maxLength = 2048

    /// Refuses anything that is not an absolute URI (RFC 3986 section 3.1:
    /// `scheme ":" rest`, scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )) made of
    /// printable ASCII without spaces, at most `maxLength` bytes, with something after the
    /// colon.
    public static func validate(_ uri: String) throws(PKIError) {
        let bytes = Array(uri.utf8)
        func fail(_ reason: String) -> PKIError { .invalidInput(field: "CRL URL", reason: "'\(uri)' \(reason)") }
        guard !bytes.isEmpty, bytes.count <= maxLength else { throw fail("must have 1 to \(maxLength) bytes") }
        guard bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw fail("must be printable ASCII without spaces (percent-encode the rest)")
        }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon > 0, colon + 1 < bytes.count else {
            throw fail("is not an absolute URI (scheme:...)")
        }
        let scheme = bytes[..<colon]
        func isAlpha(_ b: UInt8) -> Bool { (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z") }
        guard isAlpha(scheme.first!), scheme.allSatisfy({ b in
            isAlpha(b) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "+")
                || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")
        }) else { throw fail("has an invalid URI scheme") }
    }

    /// `file://` URI of an absolute local path, percent-encoding every byte outside RFC 3986's
    /// unreserved set and '/'. The dev PKI names its own `crl.pem` so (the CRL it keeps
    /// current on every start), since a demo has no web server to publish it on.
    public static func fileURL(absolutePath path: String) -> String {
        var out = "file://"
        for b in path.utf8 {
            let unreserved = (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
                || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "~")
                || b == UInt8(ascii: "/")
            if unreserved {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(b >> 4)], hex[Int(b & 0xF)]], as: UTF8.self)
            }
        }
        return out
    }
}
