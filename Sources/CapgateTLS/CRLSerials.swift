import CapgateX509

/// Revoked certificates listed in PEM CRLs, keyed by (issuer, serial), for the transport's
/// "drain live connections of revoked certificates after a CRL reload" (a revoked identity
/// must not keep a connection open until `maxConnectionAge`). The reading is the X.509 layer's (`CRL`, `SerialNumber`); this type
/// gives it TLS errors.
public enum CRLSerials {
    /// (issuer, serial) keys (`CRL.revocationKey`) of every entry of every CRL in `pem`: what
    /// the transport drains by, so a serial revoked by one CA never matches another CA's
    /// certificate. Throws `.invalidCRL` when `pem` holds no parsable CRL.
    public static func revokedKeys(inPEM pem: [UInt8]) throws(TLSError) -> Set<String> {
        do throws(X509Error) { return try CRL.revocationKeys(inPEM: pem) } catch {
            throw TLSError(.invalidCRL, "CRL: no valid PEM CRL", reading: error)
        }
    }
}
