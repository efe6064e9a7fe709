import CapgateX509
import COpenSSL

/// An owned X.509 v2 CRL (OpenSSL `X509_CRL`), produced by `CRLBuilder` or loaded from
/// `crl.pem`. The gateway may load it next to the trust bundle (docs/hardening.md: an optional CRL
/// reloaded with the bundle); tests read the revoked serials back.
public final class RevocationList: @unchecked Sendable {
    // @unchecked Sendable: never mutated after signing/parsing; read-only use is thread-safe.

    /// One revoked certificate: canonical serial hex and revocation time (Unix seconds). The
    /// X.509 layer's type, so the gateway and the PKI read CRL entries the same way.
    public typealias Entry = CRL.Entry

    let object: OwnedCRL
    var pointer: OpaquePointer { object.pointer }

    init(_ object: OwnedCRL) { self.object = object }
    /// Takes ownership of a freshly built `X509_CRL *`.
    convenience init(owning pointer: OpaquePointer) { self.init(OwnedCRL(owning: pointer)) }

    /// Parses a PEM CRL ("-----BEGIN X509 CRL-----"); the first one when the file holds several.
    public convenience init(pem: [UInt8]) throws(PKIError) {
        do throws(X509Error) { self.init(try PEM.firstCRL(pem)) } catch { throw PKIError(error) }
    }

    public func pemBytes() throws(PKIError) -> [UInt8] {
        do throws(X509Error) { return try PEM.encode(crl: pointer) } catch { throw PKIError(error) }
    }

    /// Issuer DN in RFC 2253 form.
    public var issuer: String { OSSL.nameString(X509_CRL_get_issuer(pointer)) }
    /// thisUpdate, Unix seconds.
    public var lastUpdate: Int64 { ASN1Time.unixSeconds(X509_CRL_get0_lastUpdate(pointer)) ?? Int64.min }
    /// nextUpdate, Unix seconds; nil when absent. Relying parties treat a CRL past this as stale.
    public var nextUpdate: Int64? { ASN1Time.unixSeconds(X509_CRL_get0_nextUpdate(pointer)) }

    /// The cRLNumber extension (RFC 5280 section 5.2.3), nil when absent.
    public var crlNumber: Int64? {
        guard let raw = X509_CRL_get_ext_d2i(pointer, NID_crl_number, nil, nil) else {
            OpenSSLErrorQueue.clear()
            return nil
        }
        let number = raw.assumingMemoryBound(to: ASN1_INTEGER.self)
        defer { ASN1_INTEGER_free(number) }
        var value: Int64 = 0
        return ASN1_INTEGER_get_int64(&value, number) == 1 ? value : nil
    }

    /// Revoked certificates in CRL order (sorted by serial by the builder).
    public var entries: [Entry] { CRL.entries(of: pointer) }

    /// Canonical serial hex of every revoked certificate.
    public var revokedSerials: [String] { entries.map(\.serialHex) }

    /// True when `certificate`'s serial is listed (issuer matching is the verifier's job).
    public func contains(_ certificate: Certificate) -> Bool { revokedSerials.contains(certificate.serialHex) }

    /// True when the CRL's signature verifies with `issuer`'s public key.
    public func isSigned(by issuer: Certificate) -> Bool {
        guard let key = X509_get0_pubkey(issuer.pointer) else { OpenSSLErrorQueue.clear(); return false }
        let ok = X509_CRL_verify(pointer, key) == 1
        OpenSSLErrorQueue.clear()
        return ok
    }
}
