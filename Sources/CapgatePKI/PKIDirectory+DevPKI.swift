/// What `ensureDevPKI` did; all false/empty on a second run (idempotence is tested).
public struct DevPKIReport: Sendable, Equatable {
    public var createdCA = false
    public var issuedServer = false
    /// Agents whose certificate was (re)issued, in the order asked.
    public var issuedAgents: [String] = []
    public var wroteCRL = false

    /// True when anything on disk changed.
    public var changed: Bool { createdCA || issuedServer || !issuedAgents.isEmpty || wroteCRL }
}

extension PKIDirectory {
    /// The gateway's first-start helper: creates whatever is missing and reuses what exists.
    ///
    /// - CA: created when neither `ca.pem` nor `ca.key` exists; otherwise loaded, and its trust
    ///   domain must equal `trustDomain` (a dev PKI of another domain is an error, not a reset).
    ///   Half a CA (one of the two files) is refused: fixing it is an operator decision.
    /// - Server and agent leaves: (re)issued when missing, unreadable, not matching their key,
    ///   not chaining to the CA, expired, or (server) carrying other names or CRL URLs
    ///   (`serverCRLURLs`, its cRLDistributionPoints) than asked.
    ///   A present but revoked agent certificate is reused, not silently replaced:
    ///   revocation is an operator decision, and `pki issue` reissues explicitly.
    /// - `crl.pem`: written when missing, not signed by the CA, or past its nextUpdate.
    @discardableResult
    public func ensureDevPKI(agents: [String], trustDomain: String,
                             serverDNSNames: [String] = ["localhost"],
                             serverIPAddresses: [String] = ["127.0.0.1", "::1"],
                             serverCRLURLs: [String] = [],
                             agentTTL: Duration = PKIDefaults.devAgentTTL,
                             serverTTL: Duration = PKIDefaults.serverTTL,
                             now: Int64? = nil) throws(PKIError) -> DevPKIReport {
        try SPIFFEName.validateTrustDomain(trustDomain)
        for name in agents { try SPIFFEName.validateAgentName(name) }
        for dns in serverDNSNames { try SPIFFEName.validateDNSName(dns) }
        let t = now ?? OSSL.now()
        try SecureFile.makeDirectory(path)
        return try SecureFile.withLock(directory: path) { () throws(PKIError) in
            var report = DevPKIReport()
            let ca: CertificateAuthority
            if !SecureFile.exists(caCertificatePath) && !SecureFile.exists(caKeyPath) {
                ca = try createCA(trustDomain: trustDomain, commonName: "capgate dev CA",
                                  validity: PKIDefaults.caValidity, now: t)
                report.createdCA = true
            } else {
                ca = try loadCA()
                guard ca.trustDomain == trustDomain else {
                    throw .trustDomainMismatch(expected: trustDomain, found: ca.trustDomain)
                }
            }
            if !leafIsUsable(certPath: serverCertificatePath, keyPath: serverKeyPath, ca: ca, now: t,
                             expect: { $0.dnsSANs == serverDNSNames && $0.ipSANs == canonicalIPs(serverIPAddresses)
                                 && $0.crlDistributionURIs == serverCRLURLs }) {
                _ = try writeServer(dnsNames: serverDNSNames, ipAddresses: serverIPAddresses, crlURLs: serverCRLURLs,
                                    ca: ca, ttl: serverTTL, now: t)
                report.issuedServer = true
            }
            for name in agents {
                let id = try SPIFFEName.agentID(name: name, trustDomain: trustDomain)
                if !leafIsUsable(certPath: agentCertificatePath(name), keyPath: agentKeyPath(name), ca: ca, now: t,
                                 expect: { $0.uriSANs == [id] }) {
                    _ = try writeAgent(name: name, ca: ca, ttl: agentTTL, now: t)
                    report.issuedAgents.append(name)
                }
            }
            if !crlIsCurrent(ca: ca, now: t) {
                var index = try loadIndex(trustDomain: ca.trustDomain)
                _ = try writeCRL(ca: ca, index: &index, now: t)
                report.wroteCRL = true
            }
            return report
        }
    }

    /// True when the pair on disk can be reused as is. Any failure (missing file, parse
    /// error, mismatch) means "reissue": the dev PKI heals itself rather than failing start.
    /// A leaf key readable by group/others counts as exposed: it is replaced by a new key.
    /// (The CA key gets no such repair: `loadCA` refuses it with `.insecurePermissions`.)
    private func leafIsUsable(certPath: String, keyPath: String, ca: CertificateAuthority, now: Int64,
                              expect: (Certificate) -> Bool) -> Bool {
        guard let cert = try? Certificate(pem: SecureFile.read(certPath)),
              let key = try? PrivateKey(pem: SecureFile.readSecret(keyPath)),
              cert.matches(key), expect(cert),
              (try? cert.verify(trustAnchors: [ca.certificate], at: now)) != nil
        else { return false }
        return true
    }

    private func crlIsCurrent(ca: CertificateAuthority, now: Int64) -> Bool {
        guard let crl = try? loadCRL(), crl.isSigned(by: ca.certificate) else { return false }
        guard let next = crl.nextUpdate else { return false }
        return now < next
    }

    /// IP SANs as the certificate prints them back ("::1" stays "::1", "0:0::1" becomes "::1"),
    /// so comparing asked-for and on-disk names does not reissue on formatting alone.
    private func canonicalIPs(_ ips: [String]) -> [String] {
        ips.map { ip in IPAddressText.parse(ip).map(IPAddressText.format) ?? ip }
    }
}
