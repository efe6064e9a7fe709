/// keyUsage bits (RFC 5280 section 4.2.1.3). Raw values are OpenSSL's `KU_*` flags so
/// parsing back is a plain mask.
public struct KeyUsage: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let digitalSignature = KeyUsage(rawValue: 0x0080)
    public static let nonRepudiation = KeyUsage(rawValue: 0x0040)
    public static let keyEncipherment = KeyUsage(rawValue: 0x0020)
    public static let dataEncipherment = KeyUsage(rawValue: 0x0010)
    public static let keyAgreement = KeyUsage(rawValue: 0x0008)
    public static let keyCertSign = KeyUsage(rawValue: 0x0004)
    public static let cRLSign = KeyUsage(rawValue: 0x0002)

    /// The names OpenSSL's X509V3 config syntax uses, in a stable order.
    var configNames: [String] {
        let table: [(KeyUsage, String)] = [
            (.digitalSignature, "digitalSignature"), (.nonRepudiation, "nonRepudiation"),
            (.keyEncipherment, "keyEncipherment"), (.dataEncipherment, "dataEncipherment"),
            (.keyAgreement, "keyAgreement"), (.keyCertSign, "keyCertSign"), (.cRLSign, "cRLSign"),
        ]
        return table.filter { contains($0.0) }.map(\.1)
    }
}

/// extendedKeyUsage purposes (RFC 5280 section 4.2.1.12) the gateway cares about. Raw values
/// are the OpenSSL short names, which are also what `CertificateExtensions` reports.
public enum ExtendedKeyUsage: String, Sendable, Hashable, CaseIterable {
    case clientAuth
    case serverAuth
    case codeSigning
    case emailProtection
    /// anyExtendedKeyUsage (RFC 5280 section 4.2.1.12): never issued by the gateway's PKI; a
    /// test knob, since an SVID carrying only this purpose must be refused.
    case anyExtendedKeyUsage
}

/// basicConstraints to put in a certificate (RFC 5280 section 4.2.1.9). Always critical: a
/// non-critical CA:FALSE could be ignored by a lax verifier.
public enum BasicConstraintsSpec: Sendable, Hashable {
    /// CA:FALSE, what every leaf must carry (SPIFFE X.509-SVID section 4.1).
    case leaf
    /// CA:TRUE with an optional pathLenConstraint.
    case ca(pathLength: Int?)
}

/// Everything `CertificateAuthority.issueLeaf` can vary. The defaults describe a correct
/// SPIFFE client leaf; every field is a knob so gateway tests can mint exactly the "bad"
/// certificate an attack test needs (two URI SANs, CA:TRUE leaf, serverAuth-only, expired,
/// not yet valid...) from the same code path that makes the good ones.
public struct LeafSpec: Sendable {
    /// Subject CN; nil gives an empty subject (then the SAN is marked critical, RFC 5280
    /// section 4.2.1.6).
    public var commonName: String?
    /// URI SANs, written verbatim in order (no validation: tests need malformed ones too).
    public var uriSANs: [String]
    /// DNS SANs, written verbatim in order.
    public var dnsSANs: [String]
    /// IP SANs as text ("127.0.0.1", "::1"); invalid text is refused.
    public var ipSANs: [String]
    /// Writes each URI SAN as its own subjectAltName extension instead of one extension
    /// listing them all: a malformed certificate (RFC 5280 section 4.2: an extension appears
    /// at most once), for tests of the verifiers that must refuse it. False by default.
    public var uriSANsAsSeparateExtensions: Bool
    /// cRLDistributionPoints (RFC 5280 section 4.2.1.13): where relying parties fetch the
    /// issuer's CRL, one distribution point listing these URIs; empty omits the extension.
    /// Written verbatim (`CertificateAuthority.issueServer` validates them).
    public var crlDistributionURIs: [String]
    /// EKU purposes; nil omits the extension. Never critical (RFC 5280 recommendation).
    public var extendedKeyUsage: [ExtendedKeyUsage]?
    /// keyUsage bits; nil omits the extension.
    public var keyUsage: KeyUsage?
    /// Whether keyUsage is marked critical (it must be, for an SVID).
    public var keyUsageCritical: Bool
    /// basicConstraints; nil omits the extension.
    public var basicConstraints: BasicConstraintsSpec?
    /// Validity window in Unix seconds (UTC); any values, including past or future windows.
    public var notBefore: Int64
    public var notAfter: Int64
    /// Fixed serial in hex; nil draws a random 128-bit one (the only sane choice in production).
    public var serialHex: String?
    /// Subject key; nil generates a fresh one with `keyAlgorithm`.
    public var key: PrivateKey?
    public var keyAlgorithm: PrivateKey.Algorithm

    /// A correct client leaf (EKU clientAuth, critical digitalSignature, critical CA:FALSE)
    /// valid over [notBefore, notAfter], with no SANs yet.
    public init(commonName: String?, notBefore: Int64, notAfter: Int64) {
        self.commonName = commonName
        self.uriSANs = []
        self.dnsSANs = []
        self.ipSANs = []
        self.uriSANsAsSeparateExtensions = false
        self.crlDistributionURIs = []
        self.extendedKeyUsage = [.clientAuth]
        self.keyUsage = .digitalSignature
        self.keyUsageCritical = true
        self.basicConstraints = .leaf
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.serialHex = nil
        self.key = nil
        self.keyAlgorithm = .p256
    }
}

/// A freshly issued certificate with its private key.
public struct IssuedCertificate: Sendable {
    public let certificate: Certificate
    public let privateKey: PrivateKey
}

/// Documented defaults of the PKI. One place, so the CLI help and docs can quote them.
public enum PKIDefaults {
    /// CA lifetime: 10 years. A dev CA should outlive every leaf it signs; operators rotate it
    /// by re-running `pki init` into a new directory.
    public static let caValidity: Duration = .seconds(3650 * 86_400)
    /// Agent leaf lifetime: 24 h, the short-lived SVID practice of Istio/SPIRE (docs/hardening.md):
    /// expiry, not CRLs, is the main revocation mechanism.
    public static let agentTTL: Duration = .seconds(86_400)
    /// Agent lifetime for the dev PKI the gateway creates at first start: 30 days, so a dev
    /// setup does not break every day; `ensureDevPKI` reissues expired ones.
    public static let devAgentTTL: Duration = .seconds(30 * 86_400)
    /// Server leaf lifetime: 90 days.
    public static let serverTTL: Duration = .seconds(90 * 86_400)
    /// CRL nextUpdate distance: 7 days.
    public static let crlValidity: Duration = .seconds(7 * 86_400)
    /// notBefore is backdated this much (seconds) so a peer whose clock lags slightly still
    /// accepts a certificate issued "now".
    public static let clockSkewSeconds: Int64 = 300
}

extension Duration {
    /// Whole seconds of a validity/TTL (sub-second parts are dropped).
    var wholeSeconds: Int64 { components.seconds }
}
