import CapgateX509
import COpenSSL

/// Builds a v2 CRL signed by a CA: revoked serials with their revocation times, thisUpdate,
/// nextUpdate, AKI and cRLNumber (RFC 5280 section 5: both extensions are required of a
/// conforming CA). A value type: collect entries, then `build`.
public struct CRLBuilder: Sendable {
    public let authority: CertificateAuthority
    public private(set) var entries: [RevocationList.Entry] = []

    public init(authority: CertificateAuthority) { self.authority = authority }

    /// Adds a revoked serial (any case/padding; stored canonical). Duplicates are ignored so a
    /// replayed `pki revoke` cannot grow the CRL.
    public mutating func revoke(serialHex: String, at revokedAt: Int64) throws(PKIError) {
        guard SerialNumber.isValidHex(serialHex) else {
            throw .invalidInput(field: "serial", reason: "expected 1-40 hexadecimal digits")
        }
        let serial = SerialNumber.normalize(serialHex)
        if entries.contains(where: { $0.serialHex == serial }) { return }
        entries.append(.init(serialHex: serial, revokedAt: revokedAt))
    }

    /// Signs the CRL. `thisUpdate` defaults to now; `nextUpdate` = thisUpdate + `validity`.
    /// `crlNumber` must grow with every CRL the CA publishes (RFC 5280 section 5.2.3).
    public func build(crlNumber: Int64, thisUpdate: Int64? = nil,
                      validity: Duration = PKIDefaults.crlValidity) throws(PKIError) -> RevocationList {
        guard crlNumber >= 0 else { throw .invalidInput(field: "crlNumber", reason: "must be non-negative") }
        let seconds = validity.wholeSeconds
        guard seconds > 0 else { throw .invalidInput(field: "CRL validity", reason: "must be positive") }
        let start = thisUpdate ?? OSSL.now()
        OpenSSLErrorQueue.clear()
        let crl = RevocationList(owning: try require(X509_CRL_new(), "X509_CRL_new"))
        let x = crl.pointer
        try check(X509_CRL_set_version(x, 1), "X509_CRL_set_version")  // 1 = v2
        try check(X509_CRL_set_issuer_name(x, X509_get_subject_name(authority.certificate.pointer)),
                  "X509_CRL_set_issuer_name")
        let last = try OSSL.asn1Time(start)
        defer { ASN1_TIME_free(last) }
        let next = try OSSL.asn1Time(start + seconds)
        defer { ASN1_TIME_free(next) }
        try check(X509_CRL_set1_lastUpdate(x, last), "X509_CRL_set1_lastUpdate")
        try check(X509_CRL_set1_nextUpdate(x, next), "X509_CRL_set1_nextUpdate")

        for entry in entries { try add(entry, to: x) }
        try check(X509_CRL_sort(x), "X509_CRL_sort")

        var ctx = X509V3_CTX()
        X509V3_set_ctx(&ctx, authority.certificate.pointer, nil, nil, x, 0)
        let aki = try require(X509V3_EXT_nconf_nid(nil, &ctx, NID_authority_key_identifier, "keyid:always"),
                              "X509V3_EXT_nconf_nid(authorityKeyIdentifier)")
        defer { X509_EXTENSION_free(aki) }
        try check(X509_CRL_add_ext(x, aki, -1), "X509_CRL_add_ext")
        let number = try require(ASN1_INTEGER_new(), "ASN1_INTEGER_new")
        defer { ASN1_INTEGER_free(number) }
        try check(ASN1_INTEGER_set_int64(number, crlNumber), "ASN1_INTEGER_set_int64")
        try check(X509_CRL_add1_ext_i2d(x, NID_crl_number, number, 0, 0), "X509_CRL_add1_ext_i2d(crlNumber)")

        let digest = authority.privateKey.bits > 256 ? EVP_sha384() : EVP_sha256()
        guard X509_CRL_sign(x, authority.privateKey.pointer, digest) > 0 else { throw opensslError("X509_CRL_sign") }
        return crl
    }

    private func add(_ entry: RevocationList.Entry, to crl: OpaquePointer) throws(PKIError) {
        let revoked = try require(X509_REVOKED_new(), "X509_REVOKED_new")
        var owned = true
        defer { if owned { X509_REVOKED_free(revoked) } }
        let serial = try OSSL.asn1Serial(hex: entry.serialHex)
        defer { ASN1_INTEGER_free(serial) }
        try check(X509_REVOKED_set_serialNumber(revoked, serial), "X509_REVOKED_set_serialNumber")
        let when = try OSSL.asn1Time(entry.revokedAt)
        defer { ASN1_TIME_free(when) }
        try check(X509_REVOKED_set_revocationDate(revoked, when), "X509_REVOKED_set_revocationDate")
        try check(X509_CRL_add0_revoked(crl, revoked), "X509_CRL_add0_revoked")
        owned = false  // the CRL owns it now
    }
}
