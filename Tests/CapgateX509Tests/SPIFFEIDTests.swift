import Testing
import CapgateX509

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

/// The parts the PKI validates before issuing follow the same rules as the parser.
@Suite struct SPIFFEIDPartTests {
    @Test func trustDomainRulesMatchTheParser() {
        for domain in ["example.org", "a-b_c.9", String(repeating: "d", count: 255)] {
            #expect(throws: Never.self) { try SPIFFEID.validateTrustDomain(domain.utf8) }
        }
        #expect(throws: SPIFFEIDError.emptyTrustDomain) { try SPIFFEID.validateTrustDomain("".utf8) }
        #expect(throws: SPIFFEIDError.trustDomainTooLong) {
            try SPIFFEID.validateTrustDomain(String(repeating: "d", count: 256).utf8)
        }
        // Port, userinfo and scheme fail on the alphabet when the domain stands alone.
        for domain in ["example.org:443", "user@example.org", "spiffe://example.org", "Example.org"] {
            #expect(throws: SPIFFEIDError.invalidTrustDomainCharacter) { try SPIFFEID.validateTrustDomain(domain.utf8) }
        }
    }

    @Test func pathSegmentRulesMatchTheParser() {
        for segment in ["agent", "A.b-C_d", "..."] {
            #expect(throws: Never.self) { try SPIFFEID.validatePathSegment(segment.utf8) }
        }
        #expect(throws: SPIFFEIDError.emptySegment) { try SPIFFEID.validatePathSegment("".utf8) }
        #expect(throws: SPIFFEIDError.dotSegment) { try SPIFFEID.validatePathSegment(".".utf8) }
        #expect(throws: SPIFFEIDError.dotSegment) { try SPIFFEID.validatePathSegment("..".utf8) }
        for segment in ["a/b", "a%20b", "caf\u{E9}", "a b"] {
            #expect(throws: SPIFFEIDError.invalidPathCharacter) { try SPIFFEID.validatePathSegment(segment.utf8) }
        }
    }
}
