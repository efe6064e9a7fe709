extension DefaultPolicyEngine {
    /// Walks rules 1-4 of `evaluate` and collects every failure instead of stopping at the
    /// first (docs/reference-semantics.md §5.1 "explain"). No `max_rows` validation and no rate limit: those are
    /// not remediable by changing roles or justification. Never throws, no side effects.
    public func explain(_ request: CapabilityRequest, capability: Capability, principal: Principal,
                        justification: String) -> DenialExplanation? {
        let pid = principal.principalID
        let cid = capability.capabilityID
        let actualRoles = JSONValue.array(pySortedRoles(principal.roles).map(JSONValue.string))
        let stripped = PyString.len(PyString.strip(justification))
        var failed: [FailedCondition] = []

        func roles(_ required: [String], _ suggestion: String, _ code: String) {
            failed.append(FailedCondition(condition: "roles", required: .array(required.map(JSONValue.string)),
                                          actual: actualRoles, suggestion: suggestion, reasonCode: code))
        }
        func justificationCheck() {
            guard stripped < Self.minJustification else { return }
            failed.append(FailedCondition(
                condition: "min_justification", required: .int(Self.minJustification), actual: .int(stripped),
                suggestion: "Provide justification with at least \(Self.minJustification) characters (currently \(stripped))",
                reasonCode: ReasonCode.insufficientJustification))
        }

        switch capability.safetyClass {
        case .write:
            if !principal.hasAnyRole(["writer", "admin"]) {
                roles(["writer", "admin"], "Add 'writer' or 'admin' role to principal '\(pid)'", ReasonCode.missingRole)
            }
            justificationCheck()
        case .destructive:
            if !principal.hasRole("admin") {
                roles(["admin"], "Add 'admin' role to principal '\(pid)'", ReasonCode.missingRole)
            }
            justificationCheck()
        case .read:
            break
        }

        if (capability.sensitivity == .pii || capability.sensitivity == .pci)
            && principal.attributes.index(of: "tenant") == nil {
            failed.append(FailedCondition(condition: "tenant_attribute", required: "present", actual: "absent",
                                          suggestion: "Add 'tenant' attribute to principal '\(pid)'",
                                          reasonCode: ReasonCode.missingTenantAttribute))
        }

        if capability.sensitivity == .secrets {
            if !principal.hasAnyRole(["admin", "secrets_reader"]) {
                roles(["admin", "secrets_reader"], "Add 'admin' or 'secrets_reader' role to principal '\(pid)'",
                      ReasonCode.missingRole)
            }
            justificationCheck()
        }

        if capability.sensitivity == .memory {
            let isWrite = capability.safetyClass != .read
            if isWrite && !principal.hasAnyRole(["memory_writer", "admin"]) {
                roles(["memory_writer", "admin"], "Add 'memory_writer' or 'admin' role to principal '\(pid)'",
                      ReasonCode.memoryWriteRequiresWriter)
            }
            if !isWrite && Self.memoryScope(request) == "sensitive"
                && !principal.hasAnyRole(["memory_reader_sensitive", "admin"]) {
                roles(["memory_reader_sensitive", "admin"],
                      "Add 'memory_reader_sensitive' or 'admin' role to principal '\(pid)' (or narrow the request "
                          + "scope away from 'sensitive')", ReasonCode.memorySensitiveReadDenied)
            }
        }

        let remediation = failed.map(\.suggestion)
        guard let first = failed.first else {
            return DenialExplanation(denied: false, ruleName: "allowed", failedConditions: [], remediation: [],
                                     narrative: "Request for '\(cid)' by '\(pid)' would be allowed by DefaultPolicyEngine.")
        }
        let ruleName = capability.safetyClass.rawValue.lowercased() + "-"
            + String(first.condition.map { $0 == "_" ? "-" : $0 })
        return DenialExplanation(
            denied: true, ruleName: ruleName, failedConditions: failed, remediation: remediation,
            narrative: "Request for '\(cid)' by '\(pid)' would be denied: " + remediation.joined(separator: "; ") + ".",
            reasonCode: first.reasonCode)
    }
}
