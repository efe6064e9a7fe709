import CapgateX509
import COpenSSL
import COpenSSLShims

/// Assembles and signs one X.509 v3 certificate. Internal: the public entry points
/// (`CertificateAuthority.create`, `issueLeaf`, `issueAgent`, `issueServer`) decide the
/// profile; this type only turns a profile into DER with OpenSSL, freeing every temporary.
struct CertificateBuilder {
    var subject: [(String, String)]
    var serialHex: String?
    var notBefore: Int64
    var notAfter: Int64
    var basicConstraints: BasicConstraintsSpec?
    var keyUsage: KeyUsage?
    var keyUsageCritical = true
    var extendedKeyUsage: [ExtendedKeyUsage]?
    var uriSANs: [String] = []
    var dnsSANs: [String] = []
    var ipSANs: [String] = []
    /// Test knob (`LeafSpec.uriSANsAsSeparateExtensions`): one subjectAltName per URI.
    var uriSANsAsSeparateExtensions = false
    /// cRLDistributionPoints URIs (one distribution point); empty: no extension.
    var crlDistributionURIs: [String] = []

    /// Signs with `signingKey`. `issuer` nil means self-signed (issuer name = subject, AKI =
    /// own SKI). Returns the certificate; the caller already owns `subjectKey`.
    func sign(subjectKey: PrivateKey, issuer: Certificate?, signingKey: PrivateKey) throws(PKIError) -> Certificate {
        guard notBefore <= notAfter else {
            throw .invalidInput(field: "validity", reason: "notBefore is after notAfter")
        }
        OpenSSLErrorQueue.clear()
        let x = try require(X509_new(), "X509_new")
        let cert = Certificate(owning: x)  // owns x from here: freed on any throw below
        try check(X509_set_version(x, 2), "X509_set_version")  // 2 = v3 (RFC 5280 4.1.2.1)

        let serial = if let serialHex { try OSSL.asn1Serial(hex: serialHex) } else { try OSSL.randomSerial() }
        defer { ASN1_INTEGER_free(serial) }
        try check(X509_set_serialNumber(x, serial), "X509_set_serialNumber")

        let name = try OSSL.name(subject)
        defer { X509_NAME_free(name) }
        try check(X509_set_subject_name(x, name), "X509_set_subject_name")
        let issuerName = issuer.map { X509_get_subject_name($0.pointer) } ?? name
        try check(X509_set_issuer_name(x, issuerName), "X509_set_issuer_name")

        let start = try OSSL.asn1Time(notBefore)
        defer { ASN1_TIME_free(start) }
        let end = try OSSL.asn1Time(notAfter)
        defer { ASN1_TIME_free(end) }
        try check(X509_set1_notBefore(x, start), "X509_set1_notBefore")
        try check(X509_set1_notAfter(x, end), "X509_set1_notAfter")
        try check(X509_set_pubkey(x, subjectKey.pointer), "X509_set_pubkey")

        try addExtensions(to: x, issuer: issuer?.pointer ?? x)
        try addSubjectAltNames(to: x)
        try addCRLDistributionPoint(to: x)

        // SHA-256 for P-256, SHA-384 for P-384 (match hash strength to curve, RFC 5480 4).
        let digest = signingKey.bits > 256 ? EVP_sha384() : EVP_sha256()
        guard X509_sign(x, signingKey.pointer, digest) > 0 else { throw opensslError("X509_sign") }
        return cert
    }

    /// basicConstraints, keyUsage, EKU, SKI, AKI through OpenSSL's extension config syntax.
    /// Only fixed strings built here reach that parser, never caller text, so no value can
    /// inject extra extension fields.
    private func addExtensions(to x: OpaquePointer, issuer: OpaquePointer) throws(PKIError) {
        var ctx = X509V3_CTX()
        X509V3_set_ctx(&ctx, issuer, x, nil, nil, 0)
        switch basicConstraints {
        case .leaf: try add(x, &ctx, NID_basic_constraints, "critical,CA:FALSE")
        case .ca(let pathLength?): try add(x, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:\(pathLength)")
        case .ca(nil): try add(x, &ctx, NID_basic_constraints, "critical,CA:TRUE")
        case nil: break
        }
        if let keyUsage, !keyUsage.isEmpty {
            let names = keyUsage.configNames.joined(separator: ",")
            try add(x, &ctx, NID_key_usage, keyUsageCritical ? "critical,\(names)" : names)
        }
        if let extendedKeyUsage, !extendedKeyUsage.isEmpty {
            try add(x, &ctx, NID_ext_key_usage, extendedKeyUsage.map(\.rawValue).joined(separator: ","))
        }
        // SKI before AKI: for a self-signed CA the AKI keyid is copied from its own SKI.
        try add(x, &ctx, NID_subject_key_identifier, "hash")
        try add(x, &ctx, NID_authority_key_identifier, "keyid:always")
    }

    private func add(_ x: OpaquePointer, _ ctx: inout X509V3_CTX, _ nid: Int32, _ value: String) throws(PKIError) {
        OpenSSLErrorQueue.clear()
        let ext = try require(X509V3_EXT_nconf_nid(nil, &ctx, nid, value), "X509V3_EXT_nconf_nid(\(value))")
        defer { X509_EXTENSION_free(ext) }
        try check(X509_add_ext(x, ext, -1), "X509_add_ext")
    }

    /// SubjectAltName built from GENERAL_NAME objects, not from config text: a DNS name or URI
    /// containing ',' can then never turn into a second SAN entry.
    private func addSubjectAltNames(to x: OpaquePointer) throws(PKIError) {
        if uriSANsAsSeparateExtensions && uriSANs.count > 1 {
            var rest = self
            rest.uriSANs = []
            rest.uriSANsAsSeparateExtensions = false
            try rest.addSubjectAltNames(to: x, append: true)  // DNS and IP names, if any
            rest.dnsSANs = []
            rest.ipSANs = []
            for uri in uriSANs {
                rest.uriSANs = [uri]
                try rest.addSubjectAltNames(to: x, append: true)
            }
            return
        }
        try addSubjectAltNames(to: x, append: false)
    }

    /// `append` adds the extension even when one is already present (X509V3_ADD_APPEND).
    private func addSubjectAltNames(to x: OpaquePointer, append: Bool) throws(PKIError) {
        if uriSANs.isEmpty && dnsSANs.isEmpty && ipSANs.isEmpty { return }
        OpenSSLErrorQueue.clear()
        let names = try require(capgate_general_names_new(), "sk_GENERAL_NAME_new_null")
        defer { GENERAL_NAMES_free(names) }
        for uri in uriSANs { try push(names, type: GEN_URI, value: try ia5(uri)) }
        for dns in dnsSANs { try push(names, type: GEN_DNS, value: try ia5(dns)) }
        for ip in ipSANs {
            guard let octets = a2i_IPADDRESS(ip) else {
                OpenSSLErrorQueue.clear()
                throw .invalidInput(field: "IP address", reason: "'\(ip)' is not an IPv4/IPv6 address")
            }
            try push(names, type: GEN_IPADD, value: UnsafeMutableRawPointer(octets))
        }
        // RFC 5280 4.2.1.6: with an empty subject the SAN extension must be critical.
        let critical: Int32 = subject.isEmpty ? 1 : 0
        try check(X509_add1_ext_i2d(x, NID_subject_alt_name, UnsafeMutableRawPointer(names), critical,
                                    UInt(append ? X509V3_ADD_APPEND : X509V3_ADD_DEFAULT)),
                  "X509_add1_ext_i2d(subjectAltName)")
    }

    /// cRLDistributionPoints from GENERAL_NAME objects (like the SANs): a URI containing ','
    /// stays one URI. Non-critical (RFC 5280 section 4.2.1.13 recommends it).
    private func addCRLDistributionPoint(to x: OpaquePointer) throws(PKIError) {
        guard !crlDistributionURIs.isEmpty else { return }
        OpenSSLErrorQueue.clear()
        let names = try require(capgate_general_names_new(), "sk_GENERAL_NAME_new_null")
        do {
            for uri in crlDistributionURIs { try push(names, type: GEN_URI, value: try ia5(uri)) }
        } catch {
            GENERAL_NAMES_free(names)
            throw error
        }
        // Ownership of `names` moves into the shim, on failure too.
        try check(capgate_x509_add_crl_distribution_point(x, names), "X509_add1_ext_i2d(crlDistributionPoints)")
    }

    private func ia5(_ text: String) throws(PKIError) -> UnsafeMutableRawPointer {
        let s = try require(ASN1_IA5STRING_new(), "ASN1_IA5STRING_new")
        let bytes = Array(text.utf8)
        let ok = bytes.withUnsafeBufferPointer { ASN1_STRING_set(s, $0.baseAddress, Int32($0.count)) }
        if ok != 1 { ASN1_IA5STRING_free(s); throw opensslError("ASN1_STRING_set") }
        return UnsafeMutableRawPointer(s)
    }

    /// Wraps `value` (ownership moves into the GENERAL_NAME) and appends it to `names`.
    private func push(_ names: OpaquePointer, type: Int32, value: UnsafeMutableRawPointer) throws(PKIError) {
        guard let gen = GENERAL_NAME_new() else {
            ASN1_STRING_free(value.assumingMemoryBound(to: ASN1_STRING.self))
            throw opensslError("GENERAL_NAME_new")
        }
        GENERAL_NAME_set0_value(gen, type, value)
        if capgate_general_names_push(names, gen) <= 0 {
            GENERAL_NAME_free(gen)
            throw opensslError("sk_GENERAL_NAME_push")
        }
    }
}
