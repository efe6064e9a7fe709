/// Driver-host certificates (docs/drivers.md): a driver host is a TLS server the sidecar
/// calls, identified by its SPIFFE ID `spiffe://TD/driver-host/NAME` rather than by a name
/// alone, so one CA can serve agents, the gateway and hosts without one impersonating another.
extension PKIDirectory {
    public var hostsPath: String { path + "/hosts" }
    public func hostCertificatePath(_ name: String) -> String { hostsPath + "/\(name).pem" }
    public func hostKeyPath(_ name: String) -> String { hostsPath + "/\(name).key" }

    /// Issues (or reissues: files replaced, the old serial stays in the index and can be
    /// revoked) `hosts/NAME.pem|.key`. SANs default to DNS localhost and IP 127.0.0.1, ::1.
    @discardableResult
    public func issueHost(name: String, dnsNames: [String] = ["localhost"],
                          ipAddresses: [String] = ["127.0.0.1", "::1"], ttl: Duration = PKIDefaults.serverTTL,
                          now: Int64? = nil) throws(PKIError) -> IssuedCertificate {
        try SPIFFEName.validateAgentName(name)
        return try SecureFile.withLock(directory: path) { () throws(PKIError) in
            let ca = try loadCA()
            let issued = try ca.issueHost(name: name, dnsNames: dnsNames, ipAddresses: ipAddresses, ttl: ttl, now: now)
            try SecureFile.makeDirectory(hostsPath)
            try SecureFile.write(try issued.privateKey.pemBytes(), to: hostKeyPath(name), mode: PKIDirectory.keyMode)
            try SecureFile.write(try issued.certificate.pemBytes(), to: hostCertificatePath(name),
                                 mode: PKIDirectory.publicMode)
            var index = try loadIndex(trustDomain: ca.trustDomain)
            index.record(issued.certificate, kind: .host, name: name, identity: issued.certificate.uriSANs.first ?? "")
            try saveIndex(index)
            return issued
        }
    }
}

extension CertificateAuthority {
    /// `spiffe://TD/driver-host/NAME`.
    public func hostID(name: String) throws(PKIError) -> String {
        try SPIFFEName.validateAgentName(name)
        return "spiffe://\(trustDomain)/driver-host/\(name)"
    }

    /// A driver-host leaf: exactly one URI SAN (the host's SPIFFE ID, which the sidecar pins),
    /// DNS/IP SANs for the name check, EKU serverAuth + clientAuth (a host may also call out
    /// with it), keyUsage critical digitalSignature, CA:FALSE.
    public func issueHost(name: String, dnsNames: [String], ipAddresses: [String],
                          ttl: Duration = PKIDefaults.serverTTL, now: Int64? = nil) throws(PKIError) -> IssuedCertificate {
        guard !dnsNames.isEmpty || !ipAddresses.isEmpty else {
            throw .invalidInput(field: "host names", reason: "at least one DNS name or IP address")
        }
        for dns in dnsNames { try SPIFFEName.validateDNSName(dns) }
        let id = try hostID(name: name)
        var spec = try leafSpec(commonName: name, ttl: ttl, notBefore: nil, now: now)
        spec.uriSANs = [id]
        spec.dnsSANs = dnsNames
        spec.ipSANs = ipAddresses
        spec.extendedKeyUsage = [.serverAuth, .clientAuth]
        return try issueLeaf(spec)
    }
}
