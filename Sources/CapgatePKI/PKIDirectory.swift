/// The on-disk PKI the gateway and `capgate pki ...` share:
///
/// ```
/// DIR/              0700
///   ca.pem          CA certificate (the trust bundle clients and the gateway load)
///   ca.key          CA private key, 0600
///   server.pem/.key gateway server leaf (key 0600)
///   agents/NAME.pem/.key   agent X.509-SVIDs (keys 0600)
///   crl.pem         CRL of everything revoked in the index
///   index.json      every issued serial, identity, validity and revocation
///   .lock           flock(2) target serializing mutating commands
/// ```
///
/// Every write is atomic (temp file + rename) with an explicit mode, and every mutating
/// operation holds the directory lock. A value type holding only a path: cheap and Sendable.
public struct PKIDirectory: Sendable {
    public let path: String

    public init(path: String) {
        // Strip trailing slashes so derived paths read "DIR/ca.pem", never "DIR//ca.pem".
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        self.path = p.isEmpty ? "." : p  // "" would otherwise resolve files under "/"
    }

    /// Mode of private key files: owner read/write only.
    public static let keyMode: UInt32 = 0o600
    /// Mode of certificates, CRL and index: public data.
    public static let publicMode: UInt32 = 0o644

    public var caCertificatePath: String { path + "/ca.pem" }
    public var caKeyPath: String { path + "/ca.key" }
    public var serverCertificatePath: String { path + "/server.pem" }
    public var serverKeyPath: String { path + "/server.key" }
    public var crlPath: String { path + "/crl.pem" }
    public var indexPath: String { path + "/index.json" }
    public var agentsPath: String { path + "/agents" }
    /// `agents/NAME.pem`; NAME must already be validated (`SPIFFEName.validateAgentName`).
    public func agentCertificatePath(_ name: String) -> String { agentsPath + "/\(name).pem" }
    public func agentKeyPath(_ name: String) -> String { agentsPath + "/\(name).key" }

    /// Creates the CA. Refuses when `ca.pem` or `ca.key` exists: overwriting a CA silently
    /// orphans every certificate it signed, so replacing one must be a deliberate `rm`.
    @discardableResult
    public func initCA(trustDomain: String, commonName: String = "capgate dev CA",
                       validity: Duration = PKIDefaults.caValidity, now: Int64? = nil) throws(PKIError) -> CertificateAuthority {
        try SecureFile.makeDirectory(path)
        return try SecureFile.withLock(directory: path) { () throws(PKIError) in
            try createCA(trustDomain: trustDomain, commonName: commonName, validity: validity, now: now)
        }
    }

    /// Loads `ca.pem` + `ca.key` (the key must be 0600, and must match the certificate).
    public func loadCA() throws(PKIError) -> CertificateAuthority {
        let cert = try Certificate(pem: try SecureFile.read(caCertificatePath))
        let key = try PrivateKey(pem: try SecureFile.readSecret(caKeyPath))
        guard cert.matches(key) else { throw .keyMismatch(path: caKeyPath) }
        return try CertificateAuthority(certificate: cert, privateKey: key)
    }

    /// Issues (or reissues: files are replaced, the old serial stays in the index and can
    /// still be revoked) the agent certificate `agents/NAME.pem|.key`.
    @discardableResult
    public func issueAgent(name: String, ttl: Duration = PKIDefaults.agentTTL, now: Int64? = nil) throws(PKIError) -> IssuedCertificate {
        try SPIFFEName.validateAgentName(name)
        return try SecureFile.withLock(directory: path) { () throws(PKIError) in
            try writeAgent(name: name, ca: try loadCA(), ttl: ttl, now: now)
        }
    }

    /// Issues (or reissues) `server.pem|.key` for the gateway's listen names; `crlURLs` go in
    /// its cRLDistributionPoints (`pki server --crl-url`).
    @discardableResult
    public func issueServer(dnsNames: [String], ipAddresses: [String] = [], ttl: Duration = PKIDefaults.serverTTL,
                            crlURLs: [String] = [], now: Int64? = nil) throws(PKIError) -> IssuedCertificate {
        try SecureFile.withLock(directory: path) { () throws(PKIError) in
            try writeServer(dnsNames: dnsNames, ipAddresses: ipAddresses, crlURLs: crlURLs, ca: try loadCA(), ttl: ttl,
                            now: now)
        }
    }

    /// Revokes every not-yet-revoked certificate ever issued to agent NAME, then rewrites
    /// `crl.pem` (a revocation that does not reach the CRL would be a silent no-op). Returns
    /// the serials newly revoked; throws `.unknownCertificate` if NAME was never issued.
    @discardableResult
    public func revoke(agent name: String, now: Int64? = nil) throws(PKIError) -> [String] {
        try SPIFFEName.validateAgentName(name)
        return try mutateRevocations(now: now) { (index: inout PKIIndex, at: Int64) throws(PKIError) -> [String] in
            let matching = index.entries.indices.filter { index.entries[$0].kind == .agent && index.entries[$0].name == name }
            guard !matching.isEmpty else { throw .unknownCertificate("agent \(name)") }
            var newly: [String] = []
            for i in matching where index.entries[i].revokedAt == nil {
                index.entries[i].revokedAt = at
                newly.append(index.entries[i].serialHex)
            }
            return newly
        }
    }

    /// Revokes one serial (any case, leading zeros ignored) and rewrites `crl.pem`. Returns
    /// false when it was already revoked. The CA's own serial is refused: a CA cannot revoke
    /// itself in its own CRL; replace the CA instead.
    @discardableResult
    public func revoke(serial: String, now: Int64? = nil) throws(PKIError) -> Bool {
        guard SerialNumber.isValidHex(serial) else {
            throw .invalidInput(field: "serial", reason: "expected 1-40 hexadecimal digits")
        }
        let wanted = SerialNumber.normalize(serial)
        let newly = try mutateRevocations(now: now) { (index: inout PKIIndex, at: Int64) throws(PKIError) -> [String] in
            guard let i = index.entries.firstIndex(where: { $0.serialHex == wanted }) else {
                throw .unknownCertificate("serial \(wanted)")
            }
            guard index.entries[i].kind != .ca else {
                throw .invalidInput(field: "serial", reason: "\(wanted) is the CA itself")
            }
            guard index.entries[i].revokedAt == nil else { return [] }
            index.entries[i].revokedAt = at
            return [wanted]
        }
        return !newly.isEmpty
    }

    /// Writes `crl.pem` from the index's revocations with the next cRLNumber.
    @discardableResult
    public func writeCRL(now: Int64? = nil) throws(PKIError) -> RevocationList {
        try SecureFile.withLock(directory: path) { () throws(PKIError) in
            let ca = try loadCA()
            var index = try loadIndex(trustDomain: ca.trustDomain)
            return try writeCRL(ca: ca, index: &index, now: now ?? OSSL.now())
        }
    }

    /// Every certificate the index knows, in issue order.
    public func list() throws(PKIError) -> [PKIIndex.Entry] {
        guard SecureFile.exists(indexPath) else { return [] }
        return try PKIIndex.parse(try SecureFile.read(indexPath)).entries
    }

    /// The index (an empty one for `trustDomain` when the file does not exist yet).
    public func loadIndex(trustDomain: String) throws(PKIError) -> PKIIndex {
        guard SecureFile.exists(indexPath) else { return PKIIndex(trustDomain: trustDomain) }
        let index = try PKIIndex.parse(try SecureFile.read(indexPath))
        guard index.trustDomain == trustDomain else {
            throw .trustDomainMismatch(expected: trustDomain, found: index.trustDomain)
        }
        return index
    }

    /// Reads `crl.pem`.
    public func loadCRL() throws(PKIError) -> RevocationList {
        try RevocationList(pem: try SecureFile.read(crlPath))
    }

    // MARK: - Unlocked building blocks (callers hold the lock)

    func createCA(trustDomain: String, commonName: String, validity: Duration, now: Int64?) throws(PKIError) -> CertificateAuthority {
        for existing in [caCertificatePath, caKeyPath] where SecureFile.exists(existing) {
            throw .alreadyExists(path: existing)
        }
        let ca = try CertificateAuthority.create(trustDomain: trustDomain, commonName: commonName,
                                                 validity: validity, now: now)
        // Key first: a crash in between leaves a key without a certificate, which the next
        // initCA refuses loudly, rather than a certificate whose key is lost.
        try SecureFile.write(try ca.privateKey.pemBytes(), to: caKeyPath, mode: PKIDirectory.keyMode)
        try SecureFile.write(try ca.certificate.pemBytes(), to: caCertificatePath, mode: PKIDirectory.publicMode)
        var index = try loadIndex(trustDomain: trustDomain)
        index.record(ca.certificate, kind: .ca, name: "ca", identity: ca.certificate.subject)
        try saveIndex(index)
        return ca
    }

    func writeAgent(name: String, ca: CertificateAuthority, ttl: Duration, now: Int64?) throws(PKIError) -> IssuedCertificate {
        let issued = try ca.issueAgent(name: name, ttl: ttl, now: now)
        try SecureFile.makeDirectory(agentsPath)
        try SecureFile.write(try issued.privateKey.pemBytes(), to: agentKeyPath(name), mode: PKIDirectory.keyMode)
        try SecureFile.write(try issued.certificate.pemBytes(), to: agentCertificatePath(name), mode: PKIDirectory.publicMode)
        var index = try loadIndex(trustDomain: ca.trustDomain)
        index.record(issued.certificate, kind: .agent, name: name, identity: issued.certificate.uriSANs.first ?? "")
        try saveIndex(index)
        return issued
    }

    func writeServer(dnsNames: [String], ipAddresses: [String], crlURLs: [String] = [], ca: CertificateAuthority,
                     ttl: Duration, now: Int64?) throws(PKIError) -> IssuedCertificate {
        let issued = try ca.issueServer(dnsNames: dnsNames, ipAddresses: ipAddresses, ttl: ttl, crlURLs: crlURLs, now: now)
        try SecureFile.write(try issued.privateKey.pemBytes(), to: serverKeyPath, mode: PKIDirectory.keyMode)
        try SecureFile.write(try issued.certificate.pemBytes(), to: serverCertificatePath, mode: PKIDirectory.publicMode)
        var index = try loadIndex(trustDomain: ca.trustDomain)
        let sans = issued.certificate.dnsSANs.map { "dns:\($0)" } + issued.certificate.ipSANs.map { "ip:\($0)" }
        index.record(issued.certificate, kind: .server, name: "server", identity: sans.joined(separator: ","))
        try saveIndex(index)
        return issued
    }

    func writeCRL(ca: CertificateAuthority, index: inout PKIIndex, now: Int64) throws(PKIError) -> RevocationList {
        var builder = CRLBuilder(authority: ca)
        for entry in index.revocations { try builder.revoke(serialHex: entry.serialHex, at: entry.revokedAt) }
        index.crlNumber += 1
        let crl = try builder.build(crlNumber: index.crlNumber, thisUpdate: now)
        try SecureFile.write(try crl.pemBytes(), to: crlPath, mode: PKIDirectory.publicMode)
        try saveIndex(index)
        return crl
    }

    func saveIndex(_ index: PKIIndex) throws(PKIError) {
        try SecureFile.write(index.serialized(), to: indexPath, mode: PKIDirectory.publicMode)
    }

    private func mutateRevocations(now: Int64?,
                                   _ change: (inout PKIIndex, Int64) throws(PKIError) -> [String]) throws(PKIError) -> [String] {
        try SecureFile.withLock(directory: path) { () throws(PKIError) in
            let ca = try loadCA()
            var index = try loadIndex(trustDomain: ca.trustDomain)
            let at = now ?? OSSL.now()
            let newly = try change(&index, at)
            _ = try writeCRL(ca: ca, index: &index, now: at)  // also saves the index
            return newly
        }
    }
}
