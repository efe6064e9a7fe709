import Testing
@testable import AgentKernel

/// `PolicyDecision` keeps its fields in a shared immutable box: it must still behave as a
/// value (a setter changes this copy only), compare and hash by its fields, and the
/// default policy's in-box allowed decision must equal the one built field by field.
@Suite struct PolicyDecisionBoxTests {
    static let trace = PolicyDecisionTrace(engine: "E", capabilityID: "c", principalID: "p", intent: "i",
                                           scopeKeys: ["a"], steps: [PolicyTraceStep(name: "s", outcome: .allowed)],
                                           finalOutcome: "allowed", finalReasonCode: "r")

    @Test func settersChangeOnlyTheirCopy() {
        let a = PolicyDecision(allowed: true, reason: "why", constraints: ["max_rows": 5], reasonCode: "r", trace: Self.trace)
        var b = a
        b.allowed = false
        b.reason = "other"
        b.constraints["max_rows"] = 6
        b.reasonCode = nil
        b.trace?.steps.append(PolicyTraceStep(name: "t", outcome: .denied))
        #expect(a.allowed && a.reason == "why" && a.constraints == ["max_rows": 5] && a.reasonCode == "r")
        #expect(a.trace == Self.trace)
        #expect(!b.allowed && b.reason == "other" && b.constraints == ["max_rows": 6] && b.reasonCode == nil)
        #expect(b.trace?.steps.count == 2)
        #expect(a != b)
    }

    @Test func equalityAndHashAreByFields() {
        let a = PolicyDecision(allowed: true, reason: "why", constraints: ["k": "v"], reasonCode: "r", trace: Self.trace)
        let b = PolicyDecision(allowed: true, reason: "why", constraints: ["k": "v"], reasonCode: "r", trace: Self.trace)
        #expect(a == b && a.hashValue == b.hashValue)
        for changed in [PolicyDecision(allowed: false, reason: "why", constraints: ["k": "v"], reasonCode: "r", trace: Self.trace),
                        PolicyDecision(allowed: true, reason: "why", constraints: ["k": "w"], reasonCode: "r", trace: Self.trace),
                        PolicyDecision(allowed: true, reason: "why", constraints: ["k": "v"], reasonCode: nil, trace: Self.trace),
                        PolicyDecision(allowed: true, reason: "why", constraints: ["k": "v"], reasonCode: "r", trace: nil)] {
            #expect(a != changed)
        }
        // One box compares through its fields too, as the synthesized conformance did.
        let nan = PolicyDecision(allowed: true, reason: "", constraints: ["x": .double(.nan)])
        let nanObject: JSONObject = ["x": .double(.nan)]
        #expect((nan == nan) == (nanObject == nanObject))
    }

    @Test func inBoxAllowedDecisionEqualsTheFieldByFieldOne() {
        let steps = DefaultPolicyEngine.rowCapAndAllow
        let boxed = PolicyDecision(allowedBy: "DefaultPolicyEngine", reason: "ok", constraints: ["max_rows": 50],
                                   reasonCode: "code", capabilityID: "c", principalID: "p", intent: nil,
                                   scopeKeys: ["s"], steps: steps)
        let plain = PolicyDecision(
            allowed: true, reason: "ok", constraints: ["max_rows": 50], reasonCode: "code",
            trace: PolicyDecisionTrace(engine: "DefaultPolicyEngine", capabilityID: "c", principalID: "p", intent: nil,
                                       scopeKeys: ["s"], steps: steps, finalOutcome: "allowed", finalReasonCode: "code"))
        #expect(boxed == plain)
        #expect(boxed.json.serialized(.canonical) == plain.json.serialized(.canonical))
    }
}
