import COpenSSL
import CShims
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The identity of an mTLS peer, derived ONLY from its verified leaf certificate
/// (hardening.md "mTLS identity"; SPIFFE X509-SVID.md sections 2, 4.1-4.3).
///
/// Call it on ``TLSEngine/peerCertificate`` after the handshake: chain, expiry and revocation
/// are OpenSSL's job during the handshake; the rules here are the SVID shape rules OpenSSL does
/// not know. Also usable on raw DER (a fuzz target).
public struct PeerIdentity: Sendable, Equatable {
    /// The single URI SAN, validated.
    public let spiffeID: SPIFFEID
    /// End of validity, seconds since the Unix epoch (for expiry warnings and metrics).
    public let notAfter: Int64
    /// Start of validity, seconds since the Unix epoch.
    public let notBefore: Int64
    /// Serial number, lowercase hexadecimal without separators (as in CRLs and audit logs).
    public let serialHex: String

    /// Validates `leafDER` as an X509-SVID for a client and extracts the identity.
    public init(leafDER: [UInt8]) throws(PeerIdentityError) {
        guard !leafDER.isEmpty, leafDER.count <= Self.maxDERLength else { throw .malformedCertificate }
        OpenSSLErrorQueue.clear()
        let parsed: OpaquePointer? = leafDER.withUnsafeBufferPointer { buf in
            var cursor: UnsafePointer<UInt8>? = buf.baseAddress
            guard let cert = d2i_X509(nil, &cursor, buf.count) else { return nil }
            // Trailing bytes after the certificate mean this is not one DER certificate.
            guard cursor == buf.baseAddress.map({ $0 + buf.count }) else { X509_free(cert); return nil }
            return cert
        }
        OpenSSLErrorQueue.clear()
        guard let cert = parsed else { throw .malformedCertificate }
        defer { X509_free(cert) }

        try Self.checkExtensions(cert)
        self.spiffeID = try Self.singleURISAN(cert)
        guard let notAfter = Self.unixTime(X509_get0_notAfter(cert)),
              let notBefore = Self.unixTime(X509_get0_notBefore(cert)) else { throw .malformedCertificate }
        self.notAfter = notAfter
        self.notBefore = notBefore
        guard let serial = Self.serialHex(cert) else { throw .malformedCertificate }
        self.serialHex = serial
    }

    /// 64 KiB: bounds parsing work on untrusted input; real SVIDs are under 2 KiB.
    public static let maxDERLength = 64 << 10

    /// Leaf-not-CA, key usage and extended key usage rules (X509-SVID.md 4.1, 4.3, 4.4).
    static func checkExtensions(_ cert: OpaquePointer) throws(PeerIdentityError) {
        let flags = X509_get_extension_flags(cert)
        // EXFLAG_INVALID: OpenSSL could not decode an extension or found duplicates.
        guard flags & UInt32(EXFLAG_INVALID) == 0 else { throw .invalidExtensions }
        if flags & UInt32(EXFLAG_CA) != 0 { throw .leafIsCA }
        if flags & UInt32(EXFLAG_KUSAGE) != 0 {
            let usage = X509_get_key_usage(cert)
            if usage & UInt32(KU_KEY_CERT_SIGN | KU_CRL_SIGN) != 0 { throw .keyUsageAllowsSigning }
            if usage & UInt32(KU_DIGITAL_SIGNATURE) == 0 { throw .keyUsageMissingDigitalSignature }
        }
        // anyExtendedKeyUsage alone is NOT enough: OpenSSL's sslclient purpose agrees.
        if flags & UInt32(EXFLAG_XKUSAGE) != 0, X509_get_extended_key_usage(cert) & UInt32(XKU_SSL_CLIENT) == 0 {
            throw .extendedKeyUsageMissingClientAuth
        }
    }

    /// The one URI SAN, parsed as a SPIFFE ID (X509-SVID.md 2: exactly one URI SAN).
    static func singleURISAN(_ cert: OpaquePointer) throws(PeerIdentityError) -> SPIFFEID {
        var critical: Int32 = 0
        let raw = X509_get_ext_d2i(cert, NID_subject_alt_name, &critical, nil)
        OpenSSLErrorQueue.clear()
        // critical: -1 absent, -2 the extension occurs more than once (ambiguous: refuse).
        if critical == -2 { throw .invalidExtensions }
        guard let raw else {
            if critical >= 0 { throw .invalidExtensions }  // present but undecodable
            throw .noURISAN
        }
        let names = OpaquePointer(raw)
        defer { capgate_general_names_free(names) }
        var uris: [[UInt8]] = []
        for i in 0..<capgate_sk_general_name_num(names) {
            guard let name = capgate_sk_general_name_value(names, i),
                  capgate_general_name_type(name) == GEN_URI else { continue }
            var data: UnsafePointer<UInt8>?
            let length = capgate_general_name_ia5(name, &data)
            guard length >= 0, let data else { throw .invalidExtensions }
            uris.append(Array(UnsafeBufferPointer(start: data, count: Int(length))))
        }
        guard !uris.isEmpty else { throw .noURISAN }
        guard uris.count == 1 else { throw .multipleURISANs }
        // Length first: never build a huge String from attacker bytes.
        guard uris[0].count <= SPIFFEID.maxLength else { throw .invalidSPIFFEID(.tooLong) }
        guard uris[0].allSatisfy({ $0 < 0x80 && $0 != 0 }) else { throw .invalidSPIFFEID(.nonASCII) }
        do throws(SPIFFEIDError) {
            return try SPIFFEID(parsing: String(decoding: uris[0], as: UTF8.self))
        } catch {
            throw .invalidSPIFFEID(error)
        }
    }

    /// ASN1_TIME as Unix seconds.
    static func unixTime(_ time: UnsafePointer<ASN1_TIME>?) -> Int64? {
        guard let time else { return nil }
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
        return Int64(timegm(&parts))
    }

    /// Serial number as lowercase hex.
    static func serialHex(_ cert: OpaquePointer) -> String? {
        guard let serial = X509_get0_serialNumber(cert), let bn = ASN1_INTEGER_to_BN(serial, nil) else { return nil }
        defer { BN_free(bn) }
        guard let hex = BN_bn2hex(bn) else { return nil }
        defer { capgate_openssl_free(hex) }
        return String(cString: hex).lowercased()
    }
}

/// Why a peer certificate yields no identity. Every case is a refusal (fail closed).
public enum PeerIdentityError: Error, Sendable, Equatable {
    /// The handshake is not complete or the peer certificate did not verify.
    case noVerifiedCertificate
    /// Not a single well-formed DER certificate.
    case malformedCertificate
    /// An extension is undecodable or duplicated.
    case invalidExtensions
    /// No URI SAN at all.
    case noURISAN
    /// Two or more URI SANs: which one is the identity would be ambiguous.
    case multipleURISANs
    /// The URI SAN is not an acceptable SPIFFE ID.
    case invalidSPIFFEID(SPIFFEIDError)
    /// basicConstraints CA:TRUE on a leaf.
    case leafIsCA
    /// keyUsage present without digitalSignature.
    case keyUsageMissingDigitalSignature
    /// keyUsage allows keyCertSign or cRLSign.
    case keyUsageAllowsSigning
    /// extendedKeyUsage present without clientAuth.
    case extendedKeyUsageMissingClientAuth

    /// Stable code for logs, metrics and the wire.
    public var code: String {
        switch self {
        case .noVerifiedCertificate: "identity_no_verified_certificate"
        case .malformedCertificate: "identity_malformed_certificate"
        case .invalidExtensions: "identity_invalid_extensions"
        case .noURISAN: "identity_no_uri_san"
        case .multipleURISANs: "identity_multiple_uri_sans"
        case .invalidSPIFFEID(let reason): "identity_invalid_spiffe_id:\(reason.rawValue)"
        case .leafIsCA: "identity_leaf_is_ca"
        case .keyUsageMissingDigitalSignature: "identity_key_usage_missing_digital_signature"
        case .keyUsageAllowsSigning: "identity_key_usage_allows_signing"
        case .extendedKeyUsageMissingClientAuth: "identity_eku_missing_client_auth"
        }
    }
}
