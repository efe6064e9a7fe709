import Testing
@testable import CapgateTLS

@Suite struct SPIFFEIDTests {
    @Test(arguments: [
        "spiffe://example.org/ns/prod/sa/agent",
        "spiffe://td/x",
        "spiffe://a-b_c.9/A.b-C_d/e",
        "spiffe://example.org/...",  // three dots is an ordinary segment
    ])
    func accepts(_ uri: String) throws {
        let id = try SPIFFEID(parsing: uri)
        #expect(id.description == uri)
    }

    @Test func splitsTrustDomainAndPath() throws {
        let id = try SPIFFEID(parsing: "spiffe://example.org/ns/prod")
        #expect(id.trustDomain == "example.org")
        #expect(id.path == "/ns/prod")
    }

    @Test(arguments: [
        ("https://example.org/x", SPIFFEIDError.wrongScheme),
        ("SPIFFE://example.org/x", .wrongScheme),
        ("spiffe:/example.org/x", .wrongScheme),
        ("spiffe://example.org", .emptyPath),
        ("spiffe://example.org/", .emptySegment),
        ("spiffe://example.org//x", .emptySegment),
        ("spiffe://example.org/x/", .emptySegment),
        ("spiffe://example.org/./x", .dotSegment),
        ("spiffe://example.org/x/..", .dotSegment),
        ("spiffe://example.org/x%41", .invalidPathCharacter),
        ("spiffe://example.org/x y", .invalidPathCharacter),
        ("spiffe://example.org/x*", .invalidPathCharacter),
        ("spiffe://example.org/x?y=1", .hasQuery),
        ("spiffe://example.org/x#frag", .hasFragment),
        ("spiffe://example.org:443/x", .hasPort),
        ("spiffe://user@example.org/x", .hasUserInfo),
        ("spiffe:///x", .emptyTrustDomain),
        ("spiffe://Example.org/x", .invalidTrustDomainCharacter),
        ("spiffe://exa%6dple.org/x", .invalidTrustDomainCharacter),
        ("spiffe://example.org/caf\u{E9}", .nonASCII),
    ])
    func rejects(_ uri: String, _ expected: SPIFFEIDError) {
        #expect(throws: expected) { try SPIFFEID(parsing: uri) }
    }

    @Test func lengthLimits() throws {
        let prefix = "spiffe://example.org/"
        let fits = prefix + String(repeating: "a", count: SPIFFEID.maxLength - prefix.utf8.count)
        #expect(try SPIFFEID(parsing: fits).description.utf8.count == SPIFFEID.maxLength)
        #expect(throws: SPIFFEIDError.tooLong) { try SPIFFEID(parsing: fits + "a") }
        let longDomain = "spiffe://" + String(repeating: "d", count: 256) + "/x"
        #expect(throws: SPIFFEIDError.trustDomainTooLong) { try SPIFFEID(parsing: longDomain) }
    }

    @Test func errorCodesAreUniqueAndStable() {
        let codes = Set(SPIFFEIDError.allCases.map(\.rawValue))
        #expect(codes.count == SPIFFEIDError.allCases.count)
        #expect(SPIFFEIDError.dotSegment.rawValue == "spiffe_dot_segment")
    }
}
