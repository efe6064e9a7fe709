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
