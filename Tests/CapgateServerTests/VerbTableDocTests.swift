import CapgateCore
import CapgateServer
import CapgateWire
import Foundation
import Testing

/// The verb list (`Verb.declaration`) is the one declaration of the v1 verbs; docs/design.md
/// §2's table is rendered from it and pinned here, both ways: a verb declared in code and
/// missing from the doc fails, a row in the doc that no verb declares fails, and a row whose
/// method, role, body or answer differs from the declaration fails.
@Suite(.timeLimit(.minutes(1)))
struct VerbTableDocTests {
    /// The rows of the table under `| Verb | Body | Response (200) |`.
    static func docRows() throws -> [String] {
        let text = try String(contentsOfFile: packageRoot + "/docs/design.md", encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let header = try #require(lines.firstIndex { $0.hasPrefix("| Verb | Body | Response") },
                                  "docs/design.md has no verb table")
        return Array(lines[(header + 2)...].prefix { $0.hasPrefix("|") })
    }

    @Test func designTableMatchesTheVerbList() throws {
        let doc = try Self.docRows()
        let code = Verb.allCases.map { $0.declaration.docRow($0) }
        for row in code where !doc.contains(row) {
            Issue.record("declared in Verb but not (or differently) in docs/design.md: \(row)")
        }
        for row in doc where !code.contains(row) {
            Issue.record("in docs/design.md but not (or differently) declared in Verb: \(row)")
        }
        #expect(doc == code, "same verbs in the same order")
    }

    /// `Verb.route` is one look-up of the whole path; it must answer as the rule it replaced
    /// (prefix `/v1/`, then the rest equal to a verb's name, both by canonical equivalence).
    @Test func routeAnswersAsThePrefixAndNameRule() {
        func rule(_ path: String) -> Verb? {
            guard path.hasPrefix("/v1/") else { return nil }
            return Verb(rawValue: String(path.dropFirst(4)))
        }
        var paths = Verb.allCases.map(\.path) + Verb.allCases.map(\.rawValue)
        paths += ["", "/", "/v1", "/v1/", "/v1//explain", "/v2/explain", "/V1/explain", "/v1/Explain", "/v1/explain/",
                  "/v1/explain?x=1", "/v1/explain ", " /v1/explain", "/v1/explain\u{0}", "/v1/expla\u{0301}in",
                  "/v1/e\u{0301}xplain", "/v1/explain\u{0301}", "/\u{0301}v1/explain", "/v1\u{0301}/explain",
                  "/v1/\u{FF45}xplain", "/v1/\u{212A}", "/v1/revoke_all", "/v1/revoke\u{5F}all", "/v1/list_paused"]
        for path in paths {
            #expect(Verb.route(path: path) == rule(path), "\(path.unicodeScalars.map(\.value))")
        }
    }

    /// The body caps the server hands the transport come from the verb list and the one
    /// limits type, by exact path (the router's rule): values as docs/limits.md pins them.
    @Test func routeBodyCapsDeriveFromTheVerbList() {
        let limits = GatewayLimits()
        let caps = KernelRoutes.bodyCaps(limits)
        #expect(Set(caps.keys) == Set(Verb.allCases.map(\.path)))
        #expect(caps["/v1/invoke"] == 256 * 1024)
        #expect(caps["/v1/invoke_stream"] == 256 * 1024)
        for verb in Verb.allCases where verb != .invoke && verb != .invokeStream {
            #expect(caps[verb.path] == 64 * 1024, "\(verb.rawValue)")
        }
        // A path the router does not know gets the default cap, exactly as the router sees it.
        #expect(limits.maxBodyBytes(forPath: "/v1/invoke", routes: caps) == 256 * 1024)
        #expect(Verb.route(path: "/v1/invoke?x=1") == nil)
        #expect(limits.maxBodyBytes(forPath: "/v1/invoke?x=1", routes: caps) == 64 * 1024)
        #expect(limits.maxBodyBytes(forPath: "/v1/invoke/extra", routes: caps) == 64 * 1024)
        // A configured per-verb cap moves only its own route.
        var raised = GatewayLimits()
        raised.maxBodyBytesPerVerb["expand"] = 128 * 1024
        #expect(KernelRoutes.bodyCaps(raised)["/v1/expand"] == 128 * 1024)
        #expect(KernelRoutes.bodyCaps(raised)["/v1/explain"] == 64 * 1024)
    }

    /// The role gate comes from the declaration: only the revocation verbs need admin, and
    /// only health needs no identity.
    @Test func rolesAreDeclared() {
        #expect(Verb.allCases.filter { $0.role == .admin } == [.revoke, .revokeAll, .pauseCapability, .pausePrincipal,
                                                                .pauseAll, .resumeCapability, .resumePrincipal, .resumeAll,
                                                                .listPaused, .status])
        #expect(Verb.allCases.filter { $0.role == .anyone } == [.health])
        #expect(Verb.allCases.filter { $0.method != "POST" } == [.health])
        // Only invoke_stream answers with a stream (docs/design.md §5).
        #expect(Verb.allCases.filter(\.declaration.isStreamed) == [.invokeStream])
        #expect(Verb.invokeStream.declaration.responseContentType == "application/x-ndjson")
    }
}
