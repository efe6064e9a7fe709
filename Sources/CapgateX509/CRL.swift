import COpenSSL
import COpenSSLShims

/// Reading revocation lists: the one CRL reader of the TLS layer (serials to drain after a CRL
/// reload) and the PKI (`RevocationList.entries`).
public enum CRL {
    /// One revoked certificate: canonical serial hex (``SerialNumber``) and revocation time
    /// (Unix seconds).
    public struct Entry: Sendable, Equatable {
        public var serialHex: String
        public var revokedAt: Int64
        public init(serialHex: String, revokedAt: Int64) {
            self.serialHex = serialHex
            self.revokedAt = revokedAt
        }
    }

    /// The entries of `crl` (an `X509_CRL *`) in CRL order. An entry whose serial OpenSSL cannot
    /// convert is skipped (it names no certificate); an unreadable date reads as 0.
    public static func entries(of crl: OpaquePointer) -> [Entry] {
        guard let list = X509_CRL_get_REVOKED(crl) else { return [] }
        var out: [Entry] = []
        for i in 0..<capgate_revoked_count(list) {
            guard let revoked = capgate_revoked_at(list, i),
                  let serial = SerialNumber.hex(X509_REVOKED_get0_serialNumber(revoked)) else { continue }
            out.append(Entry(serialHex: serial,
                             revokedAt: ASN1Time.unixSeconds(X509_REVOKED_get0_revocationDate(revoked)) ?? 0))
        }
        OpenSSLErrorQueue.clear()
        return out
    }

    /// The key of one revoked certificate: issuer and serial. WHY the issuer: serials are
    /// unique per issuer only (RFC 5280 section 4.1.2.2), so with several CAs in the trust
    /// bundle a serial alone would match another CA's certificate. The issuer part is
    /// OpenSSL's hash of the CANONICAL name encoding (`X509_NAME_hash_ex`, the one that
    /// names `c_rehash` files): two encodings of one name agree, and a hash collision can
    /// only match too much (drain a connection), never too little. Nil when the name cannot
    /// be hashed.
    public static func revocationKey(issuer name: OpaquePointer?, serialHex: String) -> String? {
        guard let name else { return nil }
        var ok: Int32 = 0
        let hash = X509_NAME_hash_ex(name, nil, nil, &ok)
        OpenSSLErrorQueue.clear()
        guard ok == 1 else { return nil }
        return String(hash, radix: 16) + "/" + SerialNumber.normalize(serialHex)
    }

    /// ``revocationKey(issuer:serialHex:)`` of every entry of every CRL in `pem` (the issuer
    /// of an entry is its CRL's issuer: capgate's CRLs are never indirect).
    public static func revocationKeys(inPEM pem: [UInt8]) throws(X509Error) -> Set<String> {
        var out: Set<String> = []
        let crls = try PEM.crls(pem)
        defer { withExtendedLifetime(crls) {} }
        for crl in crls {
            let issuer = X509_CRL_get_issuer(crl.pointer)
            for entry in entries(of: crl.pointer) {
                if let key = revocationKey(issuer: issuer, serialHex: entry.serialHex) { out.insert(key) }
            }
        }
        return out
    }

    /// Canonical serials of every entry of every CRL in `pem` (read strictly, see ``PEM``).
    public static func revokedSerials(inPEM pem: [UInt8]) throws(X509Error) -> Set<String> {
        var out: Set<String> = []
        let crls = try PEM.crls(pem)
        defer { withExtendedLifetime(crls) {} }
        for crl in crls {
            for entry in entries(of: crl.pointer) { out.insert(entry.serialHex) }
        }
        return out
    }
}
