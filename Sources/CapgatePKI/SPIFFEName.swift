import CapgateX509

/// Input validation for everything that ends up in a certificate or a file name. Runs before
/// any OpenSSL call so a bad name is refused with a precise reason (fail closed) instead of
/// producing a certificate the gateway would later reject, or a path outside the PKI directory.
public enum SPIFFEName {
    /// Longest agent name accepted. Keeps `agents/NAME.key` far below NAME_MAX (255) and the
    /// SPIFFE ID far below the 2048-byte limit of the X.509-SVID spec (docs/hardening.md).
    public static let maxAgentNameBytes = 128
    /// SPIFFE trust domains are at most 255 bytes (SPIFFE ID spec section 2.1).
    public static let maxTrustDomainBytes = SPIFFEID.maxTrustDomainLength

    /// Trust domain: lowercase letters, digits, '.', '-', '_' (SPIFFE ID spec section 2.1),
    /// non-empty, no scheme, no port, no userinfo. The rule is `SPIFFEID`'s, the one the
    /// gateway applies to presented certificates; only the wording is the PKI's.
    public static func validateTrustDomain(_ td: String) throws(PKIError) {
        do throws(SPIFFEIDError) {
            try SPIFFEID.validateTrustDomain(td.utf8)
        } catch .emptyTrustDomain {
            throw .invalidInput(field: "trust domain", reason: "empty")
        } catch .trustDomainTooLong {
            throw .invalidInput(field: "trust domain", reason: "longer than \(maxTrustDomainBytes) bytes")
        } catch {
            throw .invalidInput(field: "trust domain",
                                reason: "only a-z, 0-9, '.', '-', '_' are allowed (SPIFFE ID 2.1)")
        }
    }

    /// Agent name = one SPIFFE path segment: `[A-Za-z0-9._-]+`, not "." or ".." (SPIFFE ID
    /// spec section 2.2). The same rule makes it a safe file name under `agents/`.
    public static func validateAgentName(_ name: String) throws(PKIError) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty else { throw .invalidInput(field: "agent name", reason: "empty") }
        guard bytes.count <= maxAgentNameBytes else {
            throw .invalidInput(field: "agent name", reason: "longer than \(maxAgentNameBytes) bytes")
        }
        do throws(SPIFFEIDError) {
            try SPIFFEID.validatePathSegment(bytes)
        } catch .dotSegment {
            throw .invalidInput(field: "agent name", reason: "'.' and '..' are not path segments")
        } catch {
            throw .invalidInput(field: "agent name", reason: "only A-Z, a-z, 0-9, '.', '-', '_' are allowed")
        }
    }

    /// `spiffe://TD/agent/NAME`, the identity the gateway maps to a kernel principal.
    public static func agentID(name: String, trustDomain: String) throws(PKIError) -> String {
        try validateTrustDomain(trustDomain)
        try validateAgentName(name)
        return "spiffe://\(trustDomain)/agent/\(name)"
    }

    /// DNS SAN: letter-digit-hyphen labels of 1-63 bytes, total at most 253, optionally a
    /// leading "*." wildcard label (RFC 1035 2.3.4, RFC 6125 6.4.3). Lowercase ASCII only, so
    /// names compare byte-wise and a comma can never smuggle an extra SAN entry.
    public static func validateDNSName(_ name: String) throws(PKIError) {
        var rest = Substring(name)
        if rest.hasPrefix("*.") { rest = rest.dropFirst(2) }
        guard !rest.isEmpty, rest.utf8.count <= 253 else {
            throw .invalidInput(field: "DNS name", reason: "empty or longer than 253 bytes")
        }
        for label in rest.split(separator: ".", omittingEmptySubsequences: false) {
            let bytes = Array(label.utf8)
            guard (1...63).contains(bytes.count) else {
                throw .invalidInput(field: "DNS name", reason: "label of \(bytes.count) bytes in '\(name)'")
            }
            guard bytes.first != 0x2D, bytes.last != 0x2D else {
                throw .invalidInput(field: "DNS name", reason: "label starts or ends with '-' in '\(name)'")
            }
            for b in bytes where !(isLowerAlnum(b) || b == 0x2D) {
                throw .invalidInput(field: "DNS name", reason: "only a-z, 0-9, '-' labels allowed in '\(name)'")
            }
        }
    }

    private static func isLowerAlnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
}
