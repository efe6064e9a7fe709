import Testing
@testable import AgentKernel

/// The default policy hands out its last allowed decision again for an unconstrained,
/// unscoped request built from the same inputs: every decision still equals the one a fresh
/// engine builds, with the ids spelled as the request spells them (code points, not
/// canonical equivalence), across repeats, alternations and each input changing alone.
@Suite struct DefaultPolicyDecisionMemoTests {
    static let limits: [SafetyClass: RateLimit] = [.read: RateLimit(limit: 100_000, windowSeconds: 60)]

    static let caps = [
        Capability(capabilityID: "cap.p", name: "p", description: "", safetyClass: .read, sensitivity: .pii,
                   allowedFields: ["id", "amount"]),
        Capability(capabilityID: "cap.r", name: "r", description: "", safetyClass: .read),
        // The same id in another spelling of the same characters.
        Capability(capabilityID: "cap.\u{E9}", name: "e1", description: "", safetyClass: .read),
        Capability(capabilityID: "cap.e\u{301}", name: "e2", description: "", safetyClass: .read),
    ]
    static let principals = [
        Principal(principalID: "u", roles: ["reader"], attributes: ["tenant": "t"]),
        Principal(principalID: "u", roles: ["service"], attributes: ["tenant": "t"]),
        Principal(principalID: "\u{E9}", roles: ["reader"], attributes: ["tenant": "t"]),
        Principal(principalID: "e\u{301}", roles: ["reader"], attributes: ["tenant": "t"]),
    ]
    static let intents: [String?] = [nil, "", "read", "r\u{E9}", "re\u{301}"]

    static func sameBytes(_ a: String?, _ b: String?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case (let a?, let b?): return a.utf8.elementsEqual(b.utf8)
        default: return false
        }
    }

    /// `got` equals `want` field by field, its strings byte for byte.
    static func check(_ got: PolicyDecision, _ want: PolicyDecision, _ what: String) {
        #expect(got == want, "\(what)")
        #expect(got.constraints.keys == want.constraints.keys, "\(what)")
        #expect(sameBytes(got.trace?.capabilityID, want.trace?.capabilityID), "\(what)")
        #expect(sameBytes(got.trace?.principalID, want.trace?.principalID), "\(what)")
        #expect(sameBytes(got.trace?.intent, want.trace?.intent), "\(what)")
        #expect(got.trace?.scopeKeys == want.trace?.scopeKeys, "\(what)")
    }

    @Test func everyDecisionEqualsAFreshEnginesOne() throws {
        let e = try DefaultPolicyEngine(rateLimits: Self.limits)
        var cases: [(Capability, Principal, String?)] = []
        for c in Self.caps { for p in Self.principals { for i in Self.intents { cases.append((c, p, i)) } } }
        // Each case twice in a row (a memo hit), then the whole list again (misses after a
        // change of any one input, hits on nothing stale).
        for (c, p, i) in cases + cases {
            for _ in 0..<2 {
                let request = CapabilityRequest(capabilityID: c.capabilityID, goal: "g", intent: i)
                let got = try e.evaluate(request, capability: c, principal: p, justification: "")
                let want = try DefaultPolicyEngine(rateLimits: Self.limits)
                    .evaluate(request, capability: c, principal: p, justification: "")
                Self.check(got, want, "\(c.capabilityID) \(p.principalID) \(p.roles) \(String(describing: i))")
            }
        }
    }

    @Test func scopedAndConstrainedRequestsAreNotServedFromTheMemo() throws {
        let e = try DefaultPolicyEngine(rateLimits: Self.limits)
        let c = Self.caps[1], p = Self.principals[0]
        let plain = CapabilityRequest(capabilityID: c.capabilityID, goal: "g")
        _ = try e.evaluate(plain, capability: c, principal: p, justification: "")
        let scoped = CapabilityRequest(capabilityID: c.capabilityID, goal: "g", scope: ["b": "1", "a": "2"])
        let d1 = try e.evaluate(scoped, capability: c, principal: p, justification: "")
        #expect(d1.trace?.scopeKeys == ["a", "b"])
        let constrained = CapabilityRequest(capabilityID: c.capabilityID, goal: "g", constraints: ["max_rows": 7])
        let d2 = try e.evaluate(constrained, capability: c, principal: p, justification: "")
        #expect(d2.constraints == ["max_rows": 7])
        let d3 = try e.evaluate(plain, capability: c, principal: p, justification: "")
        #expect(d3.constraints == ["max_rows": 50] && d3.trace?.scopeKeys == [])
    }

    @Test func aSharedDecisionKeepsValueSemantics() throws {
        let e = try DefaultPolicyEngine(rateLimits: Self.limits)
        let c = Self.caps[1], p = Self.principals[0]
        let request = CapabilityRequest(capabilityID: c.capabilityID, goal: "g")
        var first = try e.evaluate(request, capability: c, principal: p, justification: "")
        first.constraints = ["max_rows": 1]
        first.trace?.principalID = "other"
        let second = try e.evaluate(request, capability: c, principal: p, justification: "")
        #expect(second.constraints == ["max_rows": 50])
        #expect(second.trace?.principalID == "u")
    }

    @Test func aRateLimitedRequestIsStillDeniedAfterAMemoHit() throws {
        let e = try DefaultPolicyEngine(rateLimits: [.read: RateLimit(limit: 2, windowSeconds: 60)])
        let c = Self.caps[1], p = Self.principals[0]
        let request = CapabilityRequest(capabilityID: c.capabilityID, goal: "g")
        _ = try e.evaluate(request, capability: c, principal: p, justification: "")
        _ = try e.evaluate(request, capability: c, principal: p, justification: "")
        #expect(throws: KernelError.self) { try e.evaluate(request, capability: c, principal: p, justification: "") }
    }
}
