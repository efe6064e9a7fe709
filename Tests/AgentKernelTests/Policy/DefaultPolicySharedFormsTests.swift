import Testing
@testable import AgentKernel

/// An allowed grant's constraints and trace steps come from shared objects when the request
/// has no constraints (and are built from the request's otherwise): either way they equal
/// the policy's rules written out step by step, key order included.
@Suite struct DefaultPolicySharedFormsTests {
    static func expected(_ request: CapabilityRequest, _ cap: Capability, _ p: Principal)
        -> (JSONObject, [PolicyTraceStep])
    {
        var c = request.constraints
        var steps: [PolicyTraceStep] = []
        if cap.sensitivity == .pii && !cap.allowedFields.isEmpty && !p.roles.contains("pii_reader") {
            c["allowed_fields"] = .array(cap.allowedFields.map(JSONValue.string))
            steps.append(PolicyTraceStep(name: "sensitivity:allowed_fields", outcome: .constraintApplied,
                                         detail: "applied allowed_fields=" + c["allowed_fields"]!.pyRepr))
        }
        let cap = p.roles.contains("service") ? 500 : 50
        c["max_rows"] = .int(c["max_rows"].flatMap { PyInt.coerce($0) }.map { min(max($0, 0), cap) } ?? cap)
        steps.append(PolicyTraceStep(name: "row_cap", outcome: .constraintApplied, detail: "max_rows capped"))
        steps.append(PolicyTraceStep(name: "allow", outcome: .allowed, detail: "Request approved by DefaultPolicyEngine.",
                                     reasonCode: ReasonCode.defaultPolicyAllow))
        return (c, steps)
    }

    @Test func sharedAndBuiltFormsMatchTheRules() throws {
        let e = try DefaultPolicyEngine()
        let caps = [
            Capability(capabilityID: "cap.p", name: "p", description: "", safetyClass: .read, sensitivity: .pii,
                       allowedFields: ["id", "amount"]),
            Capability(capabilityID: "cap.q", name: "q", description: "", safetyClass: .read, sensitivity: .pii,
                       allowedFields: ["name"]),
            Capability(capabilityID: "cap.r", name: "r", description: "", safetyClass: .read),
        ]
        let principals = [
            Principal(principalID: "u", roles: ["reader"], attributes: ["tenant": "t"]),
            Principal(principalID: "s", roles: ["service"], attributes: ["tenant": "t"]),
            Principal(principalID: "r", roles: ["pii_reader"], attributes: ["tenant": "t"]),
        ]
        let constraintSets: [JSONObject] = [[:], ["max_rows": 7], ["max_rows": 9000], ["z": "x"],
                                            ["z": 1, "allowed_fields": ["mine"], "max_rows": "12"]]
        // Twice round, so the allowed_fields memo is met both cold and warm.
        for _ in 0..<2 {
            for cap in caps {
                for p in principals {
                    for cs in constraintSets {
                        let request = CapabilityRequest(capabilityID: cap.capabilityID, goal: "g", constraints: cs)
                        let d = try e.evaluate(request, capability: cap, principal: p, justification: "")
                        let (c, steps) = Self.expected(request, cap, p)
                        #expect(d.constraints == c && d.constraints.keys == c.keys, "\(cap.capabilityID) \(p.principalID) \(cs)")
                        #expect(d.trace?.steps == steps, "\(cap.capabilityID) \(p.principalID) \(cs)")
                        #expect(d.trace?.finalOutcome == "allowed" && d.reason == "Request approved by DefaultPolicyEngine.")
                    }
                }
            }
        }
    }
}
