/// A SPIFFE ID (`spiffe://trust-domain/path`), validated per the SPIFFE-ID specification
/// (github.com/spiffe/spiffe, standards/SPIFFE-ID.md sections 2.1-2.3) with the workload rule of
/// docs/hardening.md "mTLS identity" (the path must be non-empty).
///
/// Pure Swift, no OpenSSL: this is the parser a fuzz target exercises. The PKI issues names
/// through the same rules (``validateTrustDomain(_:)``, ``validatePathSegment(_:)``), so it can
/// never issue an ID the gateway would refuse.
public struct SPIFFEID: Sendable, Hashable, CustomStringConvertible {
    /// Maximum length of the whole URI in bytes (docs/hardening.md "mTLS identity": at most 2048 bytes).
    public static let maxLength = 2048
    /// Maximum trust-domain length (SPIFFE-ID.md section 2.1: ≤ 255 characters).
    public static let maxTrustDomainLength = 255

    /// The trust domain, lowercase (e.g. `example.org`).
    public let trustDomain: String
    /// The path including its leading `/` (e.g. `/ns/prod/sa/agent`).
    public let path: String

    /// The canonical URI form.
    public var description: String { "spiffe://\(trustDomain)\(path)" }

    /// Parses and validates `uri`; it must already be canonical (no normalisation is done:
    /// two spellings of one identity would defeat exact-match authorization).
    public init(parsing uri: String) throws(SPIFFEIDError) {
        let bytes = Array(uri.utf8)
        guard bytes.count <= Self.maxLength else { throw .tooLong }
        guard bytes.allSatisfy({ $0 < 0x80 }) else { throw .nonASCII }
        let scheme = Array("spiffe://".utf8)
        guard bytes.starts(with: scheme) else { throw .wrongScheme }
        let rest = bytes[scheme.count...]
        // Characters that introduce URI parts the spec forbids, checked first so the error
        // names the real problem rather than "invalid character".
        if rest.contains(UInt8(ascii: "?")) { throw .hasQuery }
        if rest.contains(UInt8(ascii: "#")) { throw .hasFragment }
        let slash = rest.firstIndex(of: UInt8(ascii: "/")) ?? rest.endIndex
        let authority = rest[rest.startIndex..<slash]
        if authority.contains(UInt8(ascii: "@")) { throw .hasUserInfo }
        if authority.contains(UInt8(ascii: ":")) { throw .hasPort }
        try Self.validateTrustDomain(authority)
        let pathBytes = rest[slash...]
        guard !pathBytes.isEmpty else { throw .emptyPath }
        // pathBytes starts with "/": split the remainder into segments, keeping empty ones.
        let segments = pathBytes.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        for segment in segments { try Self.validatePathSegment(segment) }
        self.trustDomain = String(decoding: authority, as: UTF8.self)
        self.path = String(decoding: pathBytes, as: UTF8.self)
    }

    /// A trust domain on its own (`example.org`): non-empty, at most 255 bytes, only the
    /// alphabet below. Scheme, port and userinfo fail on the alphabet.
    public static func validateTrustDomain<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws(SPIFFEIDError) {
        guard !bytes.isEmpty else { throw .emptyTrustDomain }
        guard bytes.count <= maxTrustDomainLength else { throw .trustDomainTooLong }
        guard bytes.allSatisfy(isTrustDomainByte) else { throw .invalidTrustDomainCharacter }
    }

    /// One path segment (`agent`, `prod`): non-empty, not `.` or `..`, only the alphabet below.
    public static func validatePathSegment<Bytes: Collection<UInt8>>(_ segment: Bytes) throws(SPIFFEIDError) {
        guard !segment.isEmpty else { throw .emptySegment }
        if segment.elementsEqual([UInt8(ascii: ".")]) || segment.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
            throw .dotSegment
        }
        guard segment.allSatisfy(isPathByte) else { throw .invalidPathCharacter }
    }

    /// Trust domain alphabet: lowercase letters, digits, `.`, `-`, `_` (SPIFFE-ID.md 2.1).
    static func isTrustDomainByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39)
            || b == UInt8(ascii: ".") || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
    }

    /// Path segment alphabet: letters, digits, `.`, `-`, `_` (SPIFFE-ID.md 2.2). Percent
    /// encoding is not allowed, so `%` is rejected here too.
    static func isPathByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39)
            || b == UInt8(ascii: ".") || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
    }
}

/// Why a string is not an acceptable SPIFFE ID. `rawValue` is a stable code.
public enum SPIFFEIDError: String, Error, Sendable, Equatable, CaseIterable {
    case tooLong = "spiffe_too_long"
    case nonASCII = "spiffe_non_ascii"
    case wrongScheme = "spiffe_wrong_scheme"
    case hasQuery = "spiffe_has_query"
    case hasFragment = "spiffe_has_fragment"
    case hasUserInfo = "spiffe_has_userinfo"
    case hasPort = "spiffe_has_port"
    case emptyTrustDomain = "spiffe_empty_trust_domain"
    case trustDomainTooLong = "spiffe_trust_domain_too_long"
    case invalidTrustDomainCharacter = "spiffe_invalid_trust_domain_character"
    case emptyPath = "spiffe_empty_path"
    case emptySegment = "spiffe_empty_segment"
    case dotSegment = "spiffe_dot_segment"
    case invalidPathCharacter = "spiffe_invalid_path_character"
}
