import Testing
@testable import AgentKernel

@Suite struct DeclarativePolicyEngineTests {
    static let fixture = PolicyFixtures.load("dsl_policy_cases.json")
    static let cases = PolicyFixtures.cases(fixture["cases"]!)
    static let configErrors = fixture["config_errors"]!.arrayValue!

    /// evaluate + explain equal the reference on every case
    /// (`/tmp/refvenv/bin/python Tests/Fixtures/policy/gen_policy_fixtures.py`).
    @Test(arguments: cases.indices) func matchesReference(_ i: Int) throws {
        let c = Self.cases[i]
        let engine = try DeclarativePolicyEngine(document: c.policy!)
        let got = PolicyFixtures.outcome { () throws(KernelError) in
            try engine.evaluate(c.request, capability: c.capability, principal: c.principal, justification: c.justification)
        }
        #expect(got == c.evaluate, "\(c.name): evaluate\n got \(got.serialized())\nwant \(c.evaluate.serialized())")
        let ex = engine.explain(c.request, capability: c.capability, principal: c.principal, justification: c.justification)
        let want = PolicyFixtures.normalizedExplain(c.explain)
        #expect(ex?.json == want, "\(c.name): explain\n got \(ex?.json.serialized() ?? "nil")\nwant \(want.serialized())")
    }

    /// `DeclarativePolicyEngine.from_dict(bad)` raises PolicyConfigError with these messages.
    @Test(arguments: configErrors.indices) func configErrorsMatchReference(_ i: Int) {
        let c = Self.configErrors[i]
        do {
            _ = try DeclarativePolicyEngine(document: c["policy"]!)
            #expect(c["error"] == .null, "accepted \(c["policy"]!.serialized())")
        } catch {
            #expect(error.kind == .policyConfigError)
            #expect(.string(error.message) == c["message"], "\(c["policy"]!.serialized())")
        }
    }

    @Test func nonMappingDocumentIsAConfigError() {
        #expect(throws: KernelError(.policyConfigError, "Policy data must be a mapping, got list.")) {
            try DeclarativePolicyEngine(document: [1])
        }
    }

    @Test func engineNameAndTraceSteps() throws {
        let e = try DeclarativePolicyEngine(document: ["rules": [["name": "a", "action": "allow", "match": ["roles": ["x"]]],
                                                                 ["name": "b", "action": "allow", "constraints": ["m": 1]]]])
        #expect(e.engineName == "DeclarativePolicyEngine")
        let cap = Capability(capabilityID: "c", name: "", description: "", safetyClass: .read)
        let d = try e.evaluate(CapabilityRequest(capabilityID: "c", goal: ""), capability: cap,
                               principal: Principal(principalID: "p"), justification: "")
        #expect(d.trace?.steps.map(\.outcome) == [.skipped, .matched, .constraintApplied, .allowed])
        #expect(d.trace?.steps.map(\.detail) == ["match clause did not match", "action='allow'", "applied constraints=['m']",
                                                 "Allowed by rule 'b'."])
    }
}
