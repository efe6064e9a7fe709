extension DeclarativePolicyEngine {
    /// `policy_dsl_explain.build_denial_explanation` (docs/reference-semantics.md §5.3 "explain"):
    /// 1. if `evaluate` would allow: `denied=false`, empty rule name;
    /// 2. otherwise walk rules whose safety class and sensitivity fit; a fully matching
    ///    deny rule explains the denial (`denied_by_rule`); a partially matching deny rule
    ///    is skipped (satisfying it would only trigger it); the first allow rule reports
    ///    its unmet conditions;
    /// 3. with nothing collected: `no_matching_rule` under `default-deny`.
    public func explain(_ request: CapabilityRequest, capability: Capability, principal: Principal,
                        justification: String) -> DenialExplanation? {
        let cid = capability.capabilityID
        let pid = principal.principalID
        if (try? evaluate(request, capability: capability, principal: principal, justification: justification)) != nil {
            return DenialExplanation(denied: false, ruleName: "", failedConditions: [], remediation: [],
                                     narrative: "Request for '\(cid)' by '\(pid)' would be allowed.")
        }

        var failures: [FailedCondition] = []
        var ruleName = "default-deny"
        var primary: String? = ReasonCode.noMatchingRule
        for rule in rules {
            let m = rule.match
            if let sc = m.safetyClass, !sc.contains(capability.safetyClass) { continue }
            if let s = m.sensitivity, !s.contains(capability.sensitivity) { continue }
            let unmet = Self.unmetConditions(m, request, principal, justification)
            if rule.action == .deny {
                guard unmet.isEmpty else { continue }
                ruleName = rule.name
                failures = [FailedCondition(
                    condition: "denied_by_rule", required: .string("request must NOT match deny rule '\(rule.name)'"),
                    actual: .string("matched deny rule '\(rule.name)'"),
                    suggestion: rule.reason
                        ?? "Remove or narrow deny rule '\(rule.name)' so this request does not match it",
                    reasonCode: ReasonCode.explicitDenyRule)]
                primary = ReasonCode.explicitDenyRule
                break
            }
            ruleName = rule.name
            failures = unmet
            primary = unmet.first?.reasonCode
            break
        }
        if failures.isEmpty {
            failures = [FailedCondition(
                condition: "no_matching_rule", required: "an allow rule matching this capability",
                actual: "no rule matched",
                suggestion: "Add an allow rule for safety_class=\(PyString.repr(capability.safetyClass.rawValue)) "
                    + "in your policy file",
                reasonCode: ReasonCode.noMatchingRule)]
            primary = ReasonCode.noMatchingRule
        }
        let remediation = failures.map(\.suggestion)
        return DenialExplanation(
            denied: true, ruleName: ruleName, failedConditions: failures, remediation: remediation,
            narrative: "Request for '\(cid)' by '\(pid)' would be denied (rule: '\(ruleName)'): "
                + remediation.joined(separator: "; ") + ".",
            reasonCode: primary)
    }

    /// The value, or `"<absent>"` when missing or null (Python `None`). Spelled out
    /// because a `nil` literal would silently become `JSONValue.null`.
    static func presentOrAbsent(_ v: JSONValue?) -> JSONValue {
        guard let v, !v.isNull else { return .string("<absent>") }
        return v
    }

    /// `_collect_rule_failures`: roles, attributes, intent, scope, min_justification.
    static func unmetConditions(_ m: PolicyMatch, _ request: CapabilityRequest, _ principal: Principal,
                                _ justification: String) -> [FailedCondition] {
        let pid = principal.principalID
        var out: [FailedCondition] = []
        if let roles = m.roles, !principal.hasAnyRole(roles) {
            out.append(FailedCondition(
                condition: "roles", required: .array(roles.map(JSONValue.string)),
                actual: .array(pySortedRoles(principal.roles).map(JSONValue.string)),
                suggestion: "Add one of \(pyListRepr(roles)) to roles for principal '\(pid)'",
                reasonCode: ReasonCode.missingRole))
        }
        for p in m.attributes ?? [] where !attributeHolds(p, principal) {
            let actual = Self.presentOrAbsent(principal.attributes[p.key])
            out.append(FailedCondition(
                condition: "attribute:\(p.key)", required: .string(p.value), actual: actual,
                suggestion: "Set attribute '\(p.key)'=\(PyString.repr(p.value)) on principal '\(pid)'",
                reasonCode: ReasonCode.missingAttribute))
        }
        if let intents = m.intent, !intentHolds(intents, request) {
            out.append(FailedCondition(
                condition: "intent", required: .array(intents.map(JSONValue.string)),
                actual: request.intent.map(JSONValue.string) ?? "<absent>",
                suggestion: "Set CapabilityRequest.intent to one of \(pyListRepr(intents))",
                reasonCode: ReasonCode.intentNotAllowed))
        }
        for p in m.scope ?? [] where !scopeHolds(p, request) {
            let actual = Self.presentOrAbsent(request.scope[p.key])
            out.append(FailedCondition(
                condition: "scope:\(p.key)", required: .string(p.value), actual: actual,
                suggestion: "Set CapabilityRequest.scope[\(PyString.repr(p.key))]=\(PyString.repr(p.value))",
                reasonCode: ReasonCode.scopeNotAllowed))
        }
        if let n = m.minJustification {
            let stripped = PyString.len(PyString.strip(justification))
            if stripped < n {
                out.append(FailedCondition(
                    condition: "min_justification", required: .int(n), actual: .int(stripped),
                    suggestion: "Provide justification with at least \(n) characters (currently \(stripped))",
                    reasonCode: ReasonCode.insufficientJustification))
            }
        }
        return out
    }
}
