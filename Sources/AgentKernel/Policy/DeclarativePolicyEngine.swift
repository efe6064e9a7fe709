/// Rules from a policy file, first match wins (docs/reference-semantics.md §5.3, `policy_dsl.DeclarativePolicyEngine`).
///
/// The natural configuration surface for the sidecar. Two reference behaviours to keep
/// in mind when writing policies (both preserved for parity):
/// - an allow rule's constraints are merged over the request's, with no `max_rows` default
///   or clamp, so a client-supplied `max_rows` is signed as given unless a rule sets it;
/// - there is no rate limit.
/// Immutable after init, so it is trivially thread-safe.
public final class DeclarativePolicyEngine: PolicyEngine {
    public let rules: [PolicyRule]
    public let defaultAction: PolicyRule.Action

    public var engineName: String { "DeclarativePolicyEngine" }

    /// `from_dict`: `{default: "allow"|"deny" = "deny", rules: [...] = []}`. A bad shape
    /// throws `.policyConfigError` with the reference's message.
    public init(document: JSONValue) throws(KernelError) {
        (rules, defaultAction) = try PolicyDocumentParser.parse(document)
    }

    func matches(_ rule: PolicyRule, _ request: CapabilityRequest, _ capability: Capability, _ principal: Principal,
                 _ justification: String) -> Bool {
        let m = rule.match
        if let sc = m.safetyClass, !sc.contains(capability.safetyClass) { return false }
        if let s = m.sensitivity, !s.contains(capability.sensitivity) { return false }
        if let roles = m.roles, !principal.hasAnyRole(roles) { return false }
        if let attrs = m.attributes, !attrs.allSatisfy({ Self.attributeHolds($0, principal) }) { return false }
        if let intents = m.intent, !Self.intentHolds(intents, request) { return false }
        if let scope = m.scope, !scope.allSatisfy({ Self.scopeHolds($0, request) }) { return false }
        if let n = m.minJustification { return PyString.len(PyString.strip(justification)) >= n }
        return true
    }

    /// Present (non-null) and equal to the rule's value, or any value for `"*"`.
    static func attributeHolds(_ p: PolicyMatch.StringPair, _ principal: Principal) -> Bool {
        guard let v = principal.attributes[p.key], !v.isNull else { return false }
        return p.value == "*" || v.pyEquals(.string(p.value))
    }

    /// A null intent never matches an intent-aware rule (fail closed).
    static func intentHolds(_ intents: [String], _ request: CapabilityRequest) -> Bool {
        guard let i = request.intent else { return false }
        return intents.contains { PyString.equal($0, i) }
    }

    /// Exact equality with a string, not a glob: non-string scope values never match
    /// (except for `"*"`, which accepts any non-null value).
    static func scopeHolds(_ p: PolicyMatch.StringPair, _ request: CapabilityRequest) -> Bool {
        guard let v = request.scope[p.key], !v.isNull else { return false }
        return p.value == "*" || v.pyEquals(.string(p.value))
    }

    public func evaluate(_ request: CapabilityRequest, capability: Capability, principal: Principal,
                         justification: String) throws(KernelError) -> PolicyDecision {
        var constraints = request.constraints
        let pid = principal.principalID
        let cid = capability.capabilityID
        var trace = PolicyDecisionTrace(engine: engineName, capabilityID: cid, principalID: pid, intent: request.intent,
                                        scopeKeys: request.scope.keys.sorted(by: PyString.less))

        for rule in rules {
            let step = "rule:\(rule.name)"
            guard matches(rule, request, capability, principal, justification) else {
                trace.steps.append(PolicyTraceStep(name: step, outcome: .skipped, detail: "match clause did not match"))
                continue
            }
            trace.steps.append(PolicyTraceStep(name: step, outcome: .matched,
                                               detail: "action=\(PyString.repr(rule.action.rawValue))"))
            if rule.action == .deny {
                let detail = rule.reason ?? "Denied by rule '\(rule.name)'."
                throw KernelError(.policyDenied, detail, reasonCode: ReasonCode.explicitDenyRule)
            }
            for (k, v) in rule.constraints { constraints[k] = v }
            if !rule.constraints.isEmpty {
                let keys = rule.constraints.keys.sorted(by: PyString.less)
                trace.steps.append(PolicyTraceStep(name: step, outcome: .constraintApplied,
                                                   detail: "applied constraints=\(pyListRepr(keys))"))
            }
            let reason = "Allowed by rule '\(rule.name)'."
            trace.steps.append(PolicyTraceStep(name: step, outcome: .allowed, detail: reason,
                                               reasonCode: ReasonCode.ruleAllow))
            trace.finalOutcome = "allowed"
            trace.finalReasonCode = ReasonCode.ruleAllow
            return PolicyDecision(allowed: true, reason: reason, constraints: constraints,
                                  reasonCode: ReasonCode.ruleAllow, trace: trace)
        }

        if defaultAction == .deny {
            throw KernelError(.policyDenied,
                              "No policy rule matched request for capability '\(cid)' by principal '\(pid)'. "
                                  + "Default action is deny.", reasonCode: ReasonCode.noMatchingRule)
        }
        let reason = "No rule matched; default action is allow."
        trace.steps.append(PolicyTraceStep(name: "default", outcome: .allowed, detail: reason,
                                           reasonCode: ReasonCode.defaultFallthroughAllow))
        trace.finalOutcome = "allowed"
        trace.finalReasonCode = ReasonCode.defaultFallthroughAllow
        return PolicyDecision(allowed: true, reason: reason, constraints: constraints,
                              reasonCode: ReasonCode.defaultFallthroughAllow, trace: trace)
    }
}
