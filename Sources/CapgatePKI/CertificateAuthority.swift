/// A signing CA: its certificate and private key. Creates the self-signed dev root and issues
/// the SPIFFE agent leaves, the gateway's server leaf, and (for tests) any deliberately wrong
/// leaf. Sendable and immutable, so one CA object can serve concurrent test fixtures.
public final class CertificateAuthority: Sendable {
    public let certificate: Certificate
    public let privateKey: PrivateKey
    /// The SPIFFE trust domain agents of this CA belong to ("example.org").
    public let trustDomain: String

    /// Wraps an existing CA (for example loaded from `ca.pem`/`ca.key`). Fails closed when the
    /// key does not match, the certificate is not a CA, or the trust domain is unknown.
    /// `trustDomain` nil reads it from the CA's `spiffe://TD` URI SAN.
    public init(certificate: Certificate, privateKey: PrivateKey, trustDomain: String? = nil) throws(PKIError) {
        guard certificate.matches(privateKey) else { throw .keyMismatch(path: "CA") }
        guard certificate.isCA else {
            throw .invalidInput(field: "CA certificate", reason: "basicConstraints CA:TRUE missing")
        }
        let fromSAN = certificate.uriSANs.first { $0.hasPrefix("spiffe://") }.map { String($0.dropFirst(9)) }
        guard let td = trustDomain ?? fromSAN else {
            throw .invalidInput(field: "CA certificate", reason: "no spiffe:// trust domain URI SAN")
        }
        try SPIFFEName.validateTrustDomain(td)
        if let trustDomain, let fromSAN, trustDomain != fromSAN {
            throw .trustDomainMismatch(expected: trustDomain, found: fromSAN)
        }
        self.certificate = certificate
        self.privateKey = privateKey
        self.trustDomain = td
    }

    /// Creates a self-signed root: basicConstraints critical CA:TRUE pathlen:0 (it signs only
    /// leaves), keyUsage critical keyCertSign+cRLSign, SKI/AKI, subject CN=`commonName`
    /// O=`trustDomain`, and the URI SAN `spiffe://TD` (the SPIRE convention for signing
    /// certificates, X.509-SVID spec section 4; it also records the trust domain in ca.pem).
    public static func create(trustDomain: String, commonName: String = "capgate dev CA",
                              validity: Duration = PKIDefaults.caValidity, now: Int64? = nil,
                              keyAlgorithm: PrivateKey.Algorithm = .p256,
                              pathLength: Int? = 0) throws(PKIError) -> CertificateAuthority {
        try SPIFFEName.validateTrustDomain(trustDomain)
        let seconds = validity.wholeSeconds
        guard seconds > 0 else { throw .invalidInput(field: "validity", reason: "must be positive") }
        guard !commonName.isEmpty, commonName.utf8.count <= 64 else {
            throw .invalidInput(field: "common name", reason: "1-64 bytes (RFC 5280 ub-common-name)")
        }
        let start = now ?? OSSL.now()
        let key = try PrivateKey.generate(keyAlgorithm)
        var builder = CertificateBuilder(subject: [("CN", commonName), ("O", trustDomain)], serialHex: nil,
                                         notBefore: start - PKIDefaults.clockSkewSeconds,
                                         notAfter: start + seconds)
        // pathLength 0 (the capgate pki profile: the root signs leaves only); nil lets a
        // root sign intermediates (tests of whole-chain revocation checking).
        builder.basicConstraints = .ca(pathLength: pathLength)
        builder.keyUsage = [.keyCertSign, .cRLSign]
        builder.uriSANs = ["spiffe://\(trustDomain)"]
        let cert = try builder.sign(subjectKey: key, issuer: nil, signingKey: key)
        return try CertificateAuthority(certificate: cert, privateKey: key, trustDomain: trustDomain)
    }

    /// Issues any leaf described by `spec`, signed by this CA, with no profile checks: the
    /// test knob behind the gateway's "bad certificate" cases. Production code calls
    /// `issueAgent` / `issueServer`, which build a correct spec.
    public func issueLeaf(_ spec: LeafSpec) throws(PKIError) -> IssuedCertificate {
        let key = if let given = spec.key { given } else { try PrivateKey.generate(spec.keyAlgorithm) }
        var builder = CertificateBuilder(subject: spec.commonName.map { [("CN", $0)] } ?? [],
                                         serialHex: spec.serialHex,
                                         notBefore: spec.notBefore, notAfter: spec.notAfter)
        builder.basicConstraints = spec.basicConstraints
        builder.keyUsage = spec.keyUsage
        builder.keyUsageCritical = spec.keyUsageCritical
        builder.extendedKeyUsage = spec.extendedKeyUsage
        builder.uriSANs = spec.uriSANs
        builder.dnsSANs = spec.dnsSANs
        builder.ipSANs = spec.ipSANs
        builder.uriSANsAsSeparateExtensions = spec.uriSANsAsSeparateExtensions
        builder.crlDistributionURIs = spec.crlDistributionURIs
        let cert = try builder.sign(subjectKey: key, issuer: certificate, signingKey: privateKey)
        return IssuedCertificate(certificate: cert, privateKey: key)
    }

    /// Issues an agent X.509-SVID: exactly one URI SAN `spiffe://TD/agent/NAME`, subject
    /// CN=NAME, EKU clientAuth, keyUsage critical digitalSignature, basicConstraints critical
    /// CA:FALSE, random 128-bit serial, AKI (docs/hardening.md, SPIFFE X.509-SVID section 4).
    /// Validity: [now - clock skew, now + ttl], or [notBefore, notBefore + ttl] when given,
    /// and never past the CA's own notAfter (a leaf cannot outlive its issuer's chain).
    public func issueAgent(name: String, ttl: Duration = PKIDefaults.agentTTL,
                           notBefore: Int64? = nil, now: Int64? = nil) throws(PKIError) -> IssuedCertificate {
        let id = try SPIFFEName.agentID(name: name, trustDomain: trustDomain)
        var spec = try leafSpec(commonName: name, ttl: ttl, notBefore: notBefore, now: now)
        spec.uriSANs = [id]
        spec.extendedKeyUsage = [.clientAuth]
        return try issueLeaf(spec)
    }

    /// Issues the gateway's server leaf: DNS and IP SANs, EKU serverAuth, keyUsage critical
    /// digitalSignature (ECDHE-ECDSA under TLS 1.3 needs nothing else), CA:FALSE, and with
    /// `crlURLs` a cRLDistributionPoints extension naming where the CA's CRL is published.
    public func issueServer(dnsNames: [String], ipAddresses: [String] = [], ttl: Duration = PKIDefaults.serverTTL,
                            crlURLs: [String] = [],
                            notBefore: Int64? = nil, now: Int64? = nil) throws(PKIError) -> IssuedCertificate {
        guard !dnsNames.isEmpty || !ipAddresses.isEmpty else {
            throw .invalidInput(field: "server names", reason: "at least one DNS name or IP address")
        }
        for dns in dnsNames { try SPIFFEName.validateDNSName(dns) }
        for url in crlURLs { try CRLDistributionURL.validate(url) }
        let cn = dnsNames.first ?? ipAddresses[0]
        var spec = try leafSpec(commonName: String(cn.utf8.prefix(64))!, ttl: ttl, notBefore: notBefore, now: now)
        spec.dnsSANs = dnsNames
        spec.ipSANs = ipAddresses
        spec.crlDistributionURIs = crlURLs
        spec.extendedKeyUsage = [.serverAuth]
        return try issueLeaf(spec)
    }

    /// A correct leaf spec with the validity rule of `issueAgent`.
    func leafSpec(commonName: String, ttl: Duration, notBefore: Int64?, now: Int64?) throws(PKIError) -> LeafSpec {
        let seconds = ttl.wholeSeconds
        guard seconds > 0 else { throw .invalidInput(field: "ttl", reason: "must be positive") }
        let start: Int64, end: Int64
        if let notBefore {
            (start, end) = (notBefore, notBefore + seconds)
        } else {
            let t = now ?? OSSL.now()
            (start, end) = (t - PKIDefaults.clockSkewSeconds, t + seconds)
        }
        return LeafSpec(commonName: commonName, notBefore: start, notAfter: min(end, certificate.notAfter))
    }
}
