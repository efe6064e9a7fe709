import COpenSSL
import CShims

/// Serial numbers listed in PEM CRLs, for the transport's "drain live connections of revoked
/// certificates after a CRL reload" (a revoked identity must not keep a connection open until
/// `maxConnectionAge`).
public enum CRLSerials {
    /// Canonical serial hex (lowercase, no leading zeros) of every entry of every CRL in `pem`.
    /// Throws `.invalidCRL` when `pem` holds no parsable CRL.
    public static func revoked(inPEM pem: [UInt8]) throws(TLSError) -> Set<String> {
        let crls = try PEM.crls(pem)
        defer { crls.forEach { X509_CRL_free($0) } }
        var out: Set<String> = []
        for crl in crls {
            guard let list = X509_CRL_get_REVOKED(crl) else { continue }
            for i in 0..<capgate_pki_revoked_count(list) {
                guard let revoked = capgate_pki_revoked_at(list, i),
                      let serial = X509_REVOKED_get0_serialNumber(revoked),
                      let bn = ASN1_INTEGER_to_BN(serial, nil) else { continue }
                defer { BN_free(bn) }
                guard let hex = BN_bn2hex(bn) else { continue }
                defer { capgate_openssl_free(hex) }
                out.insert(canonical(String(cString: hex)))
            }
        }
        OpenSSLErrorQueue.clear()
        return out
    }

    /// Lowercase hex without leading zeros ("0A1b" -> "a1b"; "00" -> "0"): OpenSSL prints whole
    /// bytes, so the same serial can show up with or without a leading zero digit.
    public static func canonical(_ hex: String) -> String {
        let trimmed = hex.lowercased().drop { $0 == "0" }
        return trimmed.isEmpty ? "0" : String(trimmed)
    }
}
