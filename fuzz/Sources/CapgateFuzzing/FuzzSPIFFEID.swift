import AgentKernel
import CapgateServer
import CapgateTLS

/// Target 8: the SPIFFE ID parser alone, differential against an independent reading of
/// the SPIFFE-ID specification (sections 2.1-2.3, X509-SVID section 2), then the identity
/// map that turns an accepted ID into a principal. Invariants: parser and oracle agree; an
/// accepted ID is already canonical (its rendering is the input, byte for byte: two
/// spellings of one identity would defeat exact-match rules); a prefix rule only maps IDs
/// strictly below its prefix, at a segment boundary.
enum FuzzSPIFFEID {
    static let map = IdentityMap(rules: [
        .init(match: .exact("spiffe://example.org/agent/admin"), principalID: "admin", roles: ["admin"]),
        .init(match: .prefix("spiffe://example.org/agent"), principalID: "agent-{name}", roles: ["reader"]),
        .init(match: .prefix("spiffe://example.org/agent/team/"), principalID: "team-{name}", roles: ["team"]),
    ])

    static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        let text = String(decoding: bytes, as: UTF8.self)
        let parsed = try? SPIFFEID(parsing: text)
        // The oracle reads the raw bytes; invalid UTF-8 becomes U+FFFD in `text`, which
        // is non-ASCII, so both sides refuse it.
        let expected = oracleAccepts(bytes)
        if (parsed != nil) != expected {
            fuzzFailure("parser says \(parsed != nil), oracle says \(expected) for \(PyString.repr(text))")
        }
        // The map only ever sees verified IDs, but it must not trap on any string.
        let mapped = map.principal(for: text)
        guard let id = parsed else { return }
        if id.description != text { fuzzFailure("accepted ID renders differently: \(id.description)") }
        guard let p = mapped else { return }
        switch p.roles {
        case ["admin"]:
            if text != "spiffe://example.org/agent/admin" { fuzzFailure("exact rule matched \(text)") }
        case ["team"]:
            let rest = text.utf8.dropFirst("spiffe://example.org/agent/team/".utf8.count)
            if !text.hasPrefix("spiffe://example.org/agent/team/") || rest.isEmpty || p.principalID != "team-" + String(decoding: rest, as: UTF8.self) {
                fuzzFailure("team prefix mapped \(text) to \(p.principalID)")
            }
        case ["reader"]:
            if !text.hasPrefix("spiffe://example.org/agent/") || text.hasPrefix("spiffe://example.org/agent/team/") {
                fuzzFailure("agent prefix (not the longest) mapped \(text)")
            }
            if p.principalID.contains("/..") || p.principalID == "agent-" { fuzzFailure("odd principal \(p.principalID)") }
        default:
            fuzzFailure("unknown rule produced \(p.principalID)")
        }
    }

    static let domainAlphabet = Set("abcdefghijklmnopqrstuvwxyz0123456789.-_".utf8)
    static let pathAlphabet = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_".utf8)

    /// An independent reading of the SPIFFE ID rules, written from the specification and
    /// not from `SPIFFEID`: `spiffe://` + trust domain + a non-empty path of segments.
    static func oracleAccepts(_ b: [UInt8]) -> Bool {
        guard b.count <= 2048 else { return false }
        let scheme = Array("spiffe://".utf8)
        guard b.count > scheme.count, Array(b[0..<scheme.count]) == scheme else { return false }
        let parts = b[scheme.count...].split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return false }  // a trust domain and at least one segment
        let domain = parts[0]
        guard !domain.isEmpty, domain.count <= 255, domain.allSatisfy(domainAlphabet.contains) else { return false }
        for segment in parts.dropFirst() {
            guard !segment.isEmpty, segment.allSatisfy(pathAlphabet.contains) else { return false }
            if Array(segment) == [0x2E] || Array(segment) == [0x2E, 0x2E] { return false }
        }
        return true
    }
}
