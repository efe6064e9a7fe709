import CapgateX509
import COpenSSL

/// The identity of an mTLS peer, derived ONLY from its verified leaf certificate
/// (docs/hardening.md "mTLS identity"; the SPIFFE X.509-SVID rules).
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
    /// Serial number in the canonical form of `SerialNumber` (lowercase hex, no leading zeros),
    /// the same string the PKI index, `pki revoke --serial` and CRL draining use.
    public let serialHex: String

    /// Validates `leafDER` as an X509-SVID for a client and extracts the identity.
    public init(leafDER: [UInt8]) throws(PeerIdentityError) {
        guard !leafDER.isEmpty, leafDER.count <= Self.maxDERLength else { throw .malformedCertificate }
        // Exactly one DER certificate: trailing bytes mean this is not one certificate.
        let owned: OwnedX509
        do throws(X509Error) { owned = try DER.certificate(leafDER) } catch { throw .malformedCertificate }
        defer { withExtendedLifetime(owned) {} }
        try self.init(borrowedLeaf: owned.pointer)
    }

    /// The same rules on a certificate OpenSSL already parsed (the verified peer leaf, borrowed
    /// for the duration of the call). Why not re-encode and re-parse: with OpenSSL 3 every
    /// `d2i_X509` decodes the public key through the provider decoders, a lock-heavy lookup that
    /// was a visible share of each handshake's CPU (docs/benchmarks.md, handshakes).
    init(borrowedLeaf cert: OpaquePointer) throws(PeerIdentityError) {
        OpenSSLErrorQueue.clear()
        try Self.checkExtensions(cert)
        self.spiffeID = try Self.singleURISAN(cert)
        guard let notAfter = ASN1Time.unixSeconds(X509_get0_notAfter(cert)),
              let notBefore = ASN1Time.unixSeconds(X509_get0_notBefore(cert)) else { throw .malformedCertificate }
        self.notAfter = notAfter
        self.notBefore = notBefore
        guard let serial = SerialNumber.hex(X509_get0_serialNumber(cert)) else { throw .malformedCertificate }
        self.serialHex = serial
    }

    /// 64 KiB: bounds parsing work on untrusted input; real SVIDs are under 2 KiB.
    public static let maxDERLength = 64 << 10

    /// Leaf-not-CA, key usage and extended key usage rules (docs/hardening.md "mTLS identity").
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

    /// The one URI SAN, parsed as a SPIFFE ID (docs/hardening.md "mTLS identity": exactly one URI SAN).
    static func singleURISAN(_ cert: OpaquePointer) throws(PeerIdentityError) -> SPIFFEID {
        let uris: [[UInt8]]
        switch SubjectAltNames.read(cert) {
        case .absent: throw .noURISAN
        // Present twice (ambiguous) or undecodable: refuse.
        case .duplicated, .undecodable: throw .invalidExtensions
        case .entries(let entries):
            var found: [[UInt8]] = []
            for entry in entries where entry.type == GEN_URI {
                guard let bytes = entry.bytes else { throw .invalidExtensions }
                found.append(bytes)
            }
            uris = found
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
    /// The chain's trust anchor (or an intermediate) may not vouch for the leaf's trust
    /// domain (``TrustDomainBinding``: a partner CA minting our IDs).
    case trustDomainNotVouched

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
        case .trustDomainNotVouched: "identity_trust_domain_not_vouched"
        }
    }
}

/// The SPIFFE ID type is the X.509 layer's (one validator for the gateway and the PKI);
/// these names keep CapgateTLS's public API source-compatible.
public typealias SPIFFEID = CapgateX509.SPIFFEID
public typealias SPIFFEIDError = CapgateX509.SPIFFEIDError
