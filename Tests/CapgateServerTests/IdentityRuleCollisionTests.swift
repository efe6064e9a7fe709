import CapgateTesting
import AgentKernel
import CapgateServer
import Foundation
import Testing

/// Identity rules can collide (docs/hardening.md "Identity rules can collide"): `{name}` is
/// one path segment unless opted out, rule sets that can map two identities to one principal
/// are refused at load unless every rule involved opts in, and empty principals are refused.
@Suite(.timeLimit(.minutes(1)))
struct IdentityRuleCollisionTests {
    typealias Rule = IdentityMap.Rule
    static let td = "spiffe://capgate.local"

    @Test func nameIsOnePathSegmentByDefault() {
        let map = IdentityMap(rules: [Rule(match: .prefix("\(Self.td)/agent/"), principalID: "agent-{name}")])
        #expect(map.principal(for: "\(Self.td)/agent/bob")?.principalID == "agent-bob")
        // Before: `agent-team/bob`, which another rule could also produce. Now unmapped.
        #expect(map.principal(for: "\(Self.td)/agent/team/bob") == nil)
        let spans = IdentityMap(rules: [Rule(match: .prefix("\(Self.td)/agent/"), principalID: "agent-{name}",
                                             nameSpansSegments: true)])
        #expect(spans.principal(for: "\(Self.td)/agent/team/bob")?.principalID == "agent-team/bob")
    }

    @Test func theLongestPrefixDecidesEvenWhenItsNameCannotTakeThePath() {
        let map = IdentityMap(rules: [
            Rule(match: .prefix("\(Self.td)/"), principalID: "any-{name}", nameSpansSegments: true),
            Rule(match: .prefix("\(Self.td)/agent/"), principalID: "agent-{name}"),
        ])
        #expect(map.principal(for: "\(Self.td)/agent/a/b") == nil, "no fallback to a shorter prefix")
        #expect(map.principal(for: "\(Self.td)/other/a")?.principalID == "any-other/a")
    }

    @Test func problemsNameTheRule() {
        func problems(_ rules: [Rule]) -> [String] { IdentityMap(rules: rules).problems().map(\.description) }
        // Empty principal.
        #expect(problems([Rule(match: .exact("\(Self.td)/a"), principalID: "")])
                    == ["identity[0].principal_id: must not be empty"])
        #expect(problems([Rule(match: .exact("\(Self.td)/a"), principalID: "  ")]).count == 1)
        // Two exact IDs, one principal.
        let twoExact = [Rule(match: .exact("\(Self.td)/a"), principalID: "p"),
                        Rule(match: .exact("\(Self.td)/b"), principalID: "p")]
        #expect(problems(twoExact).first?.hasPrefix("identity[1].principal_id: can map an identity to the same "
                                                    + "principal as identity[0]") == true)
        // ...allowed only when BOTH say so.
        var shared = twoExact
        shared[1].sharedPrincipal = true
        #expect(problems(shared).count == 1)
        shared[0].sharedPrincipal = true
        #expect(problems(shared).isEmpty)
        // A constant principal on a prefix maps many identities to one.
        #expect(problems([Rule(match: .prefix("\(Self.td)/svc/"), principalID: "svc")]).count == 1)
        #expect(problems([Rule(match: .prefix("\(Self.td)/svc/"), principalID: "svc", sharedPrincipal: true)]).isEmpty)
        // A template that can produce an exact rule's principal for another identity.
        #expect(problems([Rule(match: .exact("\(Self.td)/admin"), principalID: "agent-root"),
                          Rule(match: .prefix("\(Self.td)/agent/"), principalID: "agent-{name}")]).count == 1)
        // ...but not the exact rule's own ID (the exact rule wins for it).
        #expect(problems([Rule(match: .exact("\(Self.td)/agent/ops"), principalID: "agent-ops"),
                          Rule(match: .prefix("\(Self.td)/agent/"), principalID: "agent-{name}")]).isEmpty)
        // Two templates whose images overlap: `{name}` under svc/ can spell `agent-x`.
        #expect(problems([Rule(match: .prefix("\(Self.td)/agent/"), principalID: "agent-{name}"),
                          Rule(match: .prefix("\(Self.td)/svc/"), principalID: "{name}")]).count == 1)
        // Disjoint templates are fine; so is the example's set.
        #expect(problems([Rule(match: .prefix("\(Self.td)/agent/"), principalID: "agent-{name}"),
                          Rule(match: .prefix("\(Self.td)/svc/"), principalID: "svc-{name}"),
                          Rule(match: .exact("\(Self.td)/agent/ops"), principalID: "ops")]).isEmpty)
        // One-segment names cannot contain `/`, so `a/{name}` and `{name}` do not overlap...
        #expect(problems([Rule(match: .prefix("\(Self.td)/x/"), principalID: "a/{name}"),
                          Rule(match: .prefix("\(Self.td)/y/"), principalID: "{name}")]).isEmpty)
        // ...unless the second takes several segments.
        #expect(problems([Rule(match: .prefix("\(Self.td)/x/"), principalID: "a/{name}"),
                          Rule(match: .prefix("\(Self.td)/y/"), principalID: "{name}", nameSpansSegments: true)]).count == 1)
        // Duplicate matches and misplaced keys.
        #expect(problems([Rule(match: .prefix("\(Self.td)/a"), principalID: "a-{name}"),
                          Rule(match: .prefix("\(Self.td)/a/"), principalID: "b-{name}")]).count == 1)
        #expect(problems([Rule(match: .exact("\(Self.td)/a"), principalID: "x-{name}")]).count == 1)
    }

    @Test func theDemoAndTheExampleAreValid() throws {
        let demo = try DemoConfig.prepare(stateDir: try makeTempDirectory("demo-rules"), host: "127.0.0.1", port: 0)
        #expect(demo.identities.problems().isEmpty)
        _ = try ServerConfig.load(path: ConfigurationTests.example)
    }

    /// The example configuration with `edit` applied, written to a temporary file.
    static func exampleWith(_ edit: (String) -> String) throws -> String {
        let dir = try makeTempDirectory("config")
        let text = edit(try String(contentsOfFile: ConfigurationTests.example, encoding: .utf8))
            .replacingOccurrences(of: "\"pki/", with: "\"\(packageRoot)/docs/examples/pki/")
            .replacingOccurrences(of: "\"state", with: "\"\(packageRoot)/docs/examples/state")
        try text.write(toFile: dir + "/c.toml", atomically: true, encoding: .utf8)
        return dir + "/c.toml"
    }

    @Test func loadRefusesCollisionsAndEmptyPrincipalsNamingTheRule() throws {
        let empty = try Self.exampleWith { $0.replacingOccurrences(of: "principal_id = \"auditor\"", with: "principal_id = \"\"") }
        #expect(throws: ConfigError("identity[1].principal_id", "must not be empty")) { try ServerConfig.load(path: empty) }
        let dup = try Self.exampleWith { $0.replacingOccurrences(of: "principal_id = \"auditor\"", with: "principal_id = \"ops\"") }
        do {
            _ = try ServerConfig.load(path: dup)
            Issue.record("a duplicate principal loaded")
        } catch {
            #expect(error.key == "identity[1].principal_id" && error.message.contains("identity[0]"), "\(error)")
        }
        let optedIn = try Self.exampleWith {
            $0.replacingOccurrences(of: "principal_id = \"ops\"\n", with: "principal_id = \"ops\"\nshared_principal = true\n")
              .replacingOccurrences(of: "principal_id = \"auditor\"\n", with: "principal_id = \"ops\"\nshared_principal = true\n")
        }
        #expect(try ServerConfig.load(path: optedIn).identities.rules[1].sharedPrincipal)
        let spans = try Self.exampleWith {
            $0.replacingOccurrences(of: "principal_id = \"agent-{name}\"", with: "principal_id = \"agent-{name}\"\nname_spans_segments = true")
        }
        #expect(try ServerConfig.load(path: spans).identities.principal(for: "\(Self.td)/agent/a/b")?.principalID == "agent-a/b")
    }

    @Test func trustDomainTables() throws {
        let path = try Self.exampleWith {
            $0.replacingOccurrences(of: "trust_bundle = \"pki/ca.pem\"", with: "")
                + "\n[[trust_domain]]\nname = \"capgate.local\"\nbundle = \"pki/ca.pem\"\n"
                + "\n[[trust_domain]]\nname = \"partner.example\"\nbundle = \"partner.pem\"\n"
        }
        let c = try ServerConfig.load(path: path)
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        #expect(c.tls.trustBundle == "")
        #expect(c.tls.trustDomains == [.init(name: "capgate.local", bundle: packageRoot + "/docs/examples/pki/ca.pem"),
                                       .init(name: "partner.example", bundle: dir + "/partner.pem")])
        let noBundle = try Self.exampleWith { $0.replacingOccurrences(of: "trust_bundle = \"pki/ca.pem\"", with: "") }
        #expect(throws: ConfigError("tls.trust_bundle", "is required")) { try ServerConfig.load(path: noBundle) }
        // Without a trust_bundle a host driver has no default CA.
        let hostNoCA = try Self.exampleWith {
            $0.replacingOccurrences(of: "trust_bundle = \"pki/ca.pem\"", with: "")
                + "\n[[trust_domain]]\nname = \"capgate.local\"\nbundle = \"pki/ca.pem\"\n"
                + "\n[[driver]]\nid = \"remote\"\ntype = \"host\"\nurl = \"https://127.0.0.1:9443\"\n"
                + "identity = \"spiffe://capgate.local/host/remote\"\nclient_certificate = \"a.pem\"\n"
                + "client_private_key = \"a.key\"\n"
        }
        #expect(throws: ConfigError("driver[2].ca_file", "is required when tls.trust_bundle is not set")) {
            try ServerConfig.load(path: hostNoCA)
        }
        let badName = try Self.exampleWith { $0 + "\n[[trust_domain]]\nname = \"spiffe://x\"\nbundle = \"a.pem\"\n" }
        #expect { try ServerConfig.load(path: badName) } throws: { ($0 as? ConfigError)?.key == "trust_domain[0].name" }
        let badKey = try Self.exampleWith { $0 + "\n[[trust_domain]]\nname = \"x.test\"\nbundel = \"a.pem\"\n" }
        #expect { try ServerConfig.load(path: badKey) } throws: { ($0 as? ConfigError)?.key.hasPrefix("trust_domain[0]") == true }
    }

    @Test func checkConfigNamesTheCollidingRule() async throws {
        let capgate = try #require(Products.executable("capgate"), "the capgate executable is not built")
        let dup = try Self.exampleWith { $0.replacingOccurrences(of: "principal_id = \"auditor\"", with: "principal_id = \"ops\"") }
        let result = try await runProcess(capgate, ["check-config", dup])
        #expect(result.status == 1)
        #expect(result.stderr.contains("identity[1].principal_id: can map an identity to the same principal as identity[0]"),
                "\(result.stderr)")
    }
}
