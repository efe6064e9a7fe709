/// JSON shapes of the models: Python `dataclasses.asdict` field names and order, enums
/// as their string values, datetimes as Python `isoformat()` (docs/reference-semantics.md §1).

/// A model that encodes to the reference's JSON shape.
public protocol JSONEncodableModel {
    var json: JSONValue { get }
}

extension Optional where Wrapped: JSONEncodableModel {
    var json: JSONValue { self?.json ?? .null }
}

@inline(__always) func js(_ s: String) -> JSONValue { .string(s) }
@inline(__always) func js(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
@inline(__always) func js(_ a: [String]) -> JSONValue { .array(a.map(JSONValue.string)) }
@inline(__always) func js(_ o: JSONObject) -> JSONValue { .object(o) }
@inline(__always) func js(_ o: JSONObject?) -> JSONValue { o.map(JSONValue.object) ?? .null }
@inline(__always) func js(_ t: Timestamp) -> JSONValue { .string(t.isoformat) }

extension Principal: JSONEncodableModel {
    public var json: JSONValue {
        .object(JSONObject([("principal_id", js(principalID)), ("roles", js(roles)), ("attributes", js(attributes))]))
    }
}

extension ImplementationRef: JSONEncodableModel {
    public var json: JSONValue { .object(JSONObject([("driver_id", js(driverID)), ("operation", js(operation))])) }
}

extension ToolHints: JSONEncodableModel {
    public var json: JSONValue { .object(JSONObject([("cache_control", js(cacheControl)), ("strict", .bool(strict))])) }
}

extension Capability: JSONEncodableModel {
    /// The dataclass without `parameters_model` (a pydantic class cannot cross the wire).
    public var json: JSONValue {
        .object(JSONObject([
            ("capability_id", js(capabilityID)), ("name", js(name)), ("description", js(description)),
            ("safety_class", js(safetyClass.rawValue)), ("sensitivity", js(sensitivity.rawValue)),
            ("allowed_fields", js(allowedFields)), ("tags", js(tags)), ("impl", impl.json),
            ("parameters_schema", js(parametersSchema)), ("tool_hints", toolHints.json),
        ]))
    }
}

extension CapabilityRequest: JSONEncodableModel {
    public var json: JSONValue {
        .object(JSONObject([
            ("capability_id", js(capabilityID)), ("goal", js(goal)), ("constraints", js(constraints)),
            ("intent", js(intent)), ("scope", js(scope)),
        ]))
    }
}

extension PolicyTraceStep: JSONEncodableModel {
    public var json: JSONValue {
        .object(JSONObject([("name", js(name)), ("outcome", js(outcome.rawValue)), ("detail", js(detail)),
                            ("reason_code", js(reasonCode))]))
    }
}

extension PolicyDecisionTrace: JSONEncodableModel {
    public var json: JSONValue {
        .object(JSONObject([
            ("engine", js(engine)), ("capability_id", js(capabilityID)), ("principal_id", js(principalID)),
            ("intent", js(intent)), ("scope_keys", js(scopeKeys)), ("steps", .array(steps.map(\.json))),
            ("final_outcome", js(finalOutcome)), ("final_reason_code", js(finalReasonCode)),
        ]))
    }
}

extension PolicyDecision: JSONEncodableModel {
    public var json: JSONValue {
        .object(JSONObject([
            ("allowed", .bool(allowed)), ("reason", js(reason)), ("constraints", js(constraints)),
            ("reason_code", js(reasonCode)), ("trace", trace.json),
        ]))
    }
}

extension CapabilityToken: JSONEncodableModel {
    /// Exactly `CapabilityToken.to_dict()`.
    public var json: JSONValue {
        .object(JSONObject([
            ("token_id", js(tokenID)), ("capability_id", js(capabilityID)), ("principal_id", js(principalID)),
            ("issued_at", js(issuedAt)), ("expires_at", js(expiresAt)), ("constraints", js(constraints)),
            ("audit_id", js(auditID)), ("signature", js(signature)),
        ]))
    }
}

extension CapabilityGrant: JSONEncodableModel {
    public var json: JSONValue {
        .object(JSONObject([
            ("request", request.json), ("principal", principal.json), ("decision", decision.json),
            ("token", token.json), ("audit_id", js(auditID)),
        ]))
    }
}

extension Handle: JSONEncodableModel {
    public var json: JSONValue {
        .object(JSONObject([
            ("handle_id", js(handleID)), ("capability_id", js(capabilityID)), ("created_at", js(createdAt)),
            ("expires_at", js(expiresAt)), ("total_rows", .int(totalRows)), ("principal_id", js(principalID)),
            ("constraints", js(constraints)),
        ]))
    }
}

extension Provenance: JSONEncodableModel {
    public var json: JSONValue {
        .object(JSONObject([
            ("capability_id", js(capabilityID)), ("principal_id", js(principalID)), ("invoked_at", js(invokedAt)),
            ("action_id", js(actionID)),
        ]))
    }
}

extension Frame: JSONEncodableModel {
    /// The full Frame (the adapter's `frame_to_payload` is lossy; the wire is not).
    public var json: JSONValue {
        .object(JSONObject([
            ("action_id", js(actionID)), ("capability_id", js(capabilityID)),
            ("response_mode", js(responseMode.rawValue)), ("facts", js(facts)),
            ("table_preview", .array(tablePreview.map(JSONValue.object))), ("handle", handle.json),
            ("warnings", js(warnings)), ("provenance", provenance.json), ("raw_data", rawData),
            ("is_final", .bool(isFinal)),
        ]))
    }
}

extension ActionTrace: JSONEncodableModel {
    public var json: JSONValue {
        .object(JSONObject([
            ("action_id", js(actionID)), ("capability_id", js(capabilityID)), ("principal_id", js(principalID)),
            ("token_id", js(tokenID)), ("invoked_at", js(invokedAt)), ("args", js(args)),
            ("response_mode", js(responseMode.rawValue)), ("driver_id", js(driverID)), ("handle_id", js(handleID)),
            ("error", js(error)), ("result_summary", js(resultSummary)), ("sensitivity", js(sensitivity.rawValue)),
            ("event_type", js(eventType.rawValue)), ("reason_code", js(reasonCode)),
        ]))
    }
}

extension FailedCondition: JSONEncodableModel {
    public var json: JSONValue {
        .object(JSONObject([
            ("condition", js(condition)), ("required", required), ("actual", actual), ("suggestion", js(suggestion)),
            ("reason_code", js(reasonCode)),
        ]))
    }
}

extension DenialExplanation: JSONEncodableModel {
    public var json: JSONValue {
        .object(JSONObject([
            ("denied", .bool(denied)), ("rule_name", js(ruleName)),
            ("failed_conditions", .array(failedConditions.map(\.json))), ("remediation", js(remediation)),
            ("narrative", js(narrative)), ("reason_code", js(reasonCode)),
        ]))
    }
}

extension DryRunResult: JSONEncodableModel {
    public var json: JSONValue {
        .object(JSONObject([
            ("capability_id", js(capabilityID)), ("principal_id", js(principalID)),
            ("policy_decision", policyDecision.json), ("driver_id", js(driverID)), ("operation", js(operation)),
            ("resolved_args", js(resolvedArgs)), ("response_mode", js(responseMode.rawValue)),
            ("budget_remaining", budgetRemaining.map(JSONValue.int) ?? .null), ("estimated_cost", js(estimatedCost)),
        ]))
    }
}

extension InvokeResult: JSONEncodableModel {
    public var json: JSONValue {
        switch self {
        case .frame(let f): return f.json
        case .dryRun(let d): return d.json
        }
    }
}

extension TraceQuery: JSONEncodableModel {
    public var json: JSONValue {
        .object(JSONObject([
            ("principal_id", js(principalID)), ("capability_id", js(capabilityID)),
            ("event_type", js(eventType?.rawValue)), ("outcome", js(outcome)), ("reason_code", js(reasonCode)),
            ("since", js(since?.isoformat)), ("until", js(until?.isoformat)),
            ("limit", limit.map(JSONValue.int) ?? .null), ("offset", .int(offset)),
        ]))
    }
}

extension StatsSnapshot: JSONEncodableModel {
    public var json: JSONValue {
        .object(JSONObject([
            ("grants", .int(grants)), ("denials", .int(denials)), ("invocations", .int(invocations)),
            ("invocation_failures", .int(invocationFailures)), ("fallback_activations", .int(fallbackActivations)),
            ("redaction_events", .int(redactionEvents)), ("budget_downgrades", .int(budgetDowngrades)),
            ("handle_stores", .int(handleStores)), ("expansions", .int(expansions)),
            ("denials_by_reason", .object(JSONObject(denialsByReason.map { ($0.0, JSONValue.int($0.1)) }))),
        ]))
    }
}
