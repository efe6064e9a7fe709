/// Decoders for the result models, so a client can rebuild exactly what the kernel
/// returned (the wire carries the full shapes of `Models+JSON.swift`).
extension PolicyTraceStep: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        var r = try ModelReader(json, "step")
        let o = try r.string("outcome")
        guard let outcome = Outcome(rawValue: o) else { throw ModelDecodeError(r.path("outcome"), "unknown outcome") }
        self.init(name: try r.string("name"), outcome: outcome, detail: try r.nullableString("detail") ?? "",
                  reasonCode: try r.nullableString("reason_code"))
    }
}

extension PolicyDecisionTrace: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        var r = try ModelReader(json, "trace")
        var steps: [PolicyTraceStep] = []
        for s in (try r.optionalArray("steps") ?? []) { steps.append(try PolicyTraceStep(json: s)) }
        self.init(engine: try r.string("engine"), capabilityID: try r.string("capability_id"),
                  principalID: try r.string("principal_id"), intent: try r.nullableString("intent"),
                  scopeKeys: (try r.optionalStringList("scope_keys") ?? []), steps: steps,
                  finalOutcome: try r.nullableString("final_outcome") ?? "denied",
                  finalReasonCode: try r.nullableString("final_reason_code"))
    }
}

extension PolicyDecision: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        var r = try ModelReader(json, "decision")
        let trace = r.value("trace")
        self.init(allowed: (try r.optionalBool("allowed") ?? false), reason: try r.nullableString("reason") ?? "",
                  constraints: (try r.optionalObject("constraints") ?? [:]), reasonCode: try r.nullableString("reason_code"),
                  trace: trace.isNull ? nil : try PolicyDecisionTrace(json: trace))
    }
}

extension CapabilityGrant: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        var r = try ModelReader(json, "grant")
        self.init(request: try CapabilityRequest(json: r.value("request")),
                  principal: try Principal(json: r.value("principal")),
                  decision: try PolicyDecision(json: r.value("decision")),
                  token: try CapabilityToken(json: r.value("token")), auditID: try r.string("audit_id"))
    }
}

extension Provenance: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        var r = try ModelReader(json, "provenance")
        self.init(capabilityID: try r.string("capability_id"), principalID: try r.string("principal_id"),
                  invokedAt: try r.timestamp("invoked_at"), actionID: try r.string("action_id"))
    }
}

extension Frame: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        var r = try ModelReader(json, "frame")
        var rows: [JSONObject] = []
        for row in (try r.optionalArray("table_preview") ?? []) {
            guard case .object(let o) = row else { throw ModelDecodeError(r.path("table_preview"), "rows must be objects") }
            rows.append(o)
        }
        let handle = r.value("handle")
        let provenance = r.value("provenance")
        self.init(actionID: try r.string("action_id"), capabilityID: try r.string("capability_id"),
                  responseMode: ResponseMode(try r.string("response_mode")), facts: (try r.optionalStringList("facts") ?? []),
                  tablePreview: rows, handle: handle.isNull ? nil : try Handle(json: handle),
                  warnings: (try r.optionalStringList("warnings") ?? []),
                  provenance: provenance.isNull ? nil : try Provenance(json: provenance),
                  rawData: r.value("raw_data"), isFinal: (try r.optionalBool("is_final") ?? false))
    }
}

extension ActionTrace: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        var r = try ModelReader(json, "trace")
        let sens = try r.nullableString("sensitivity") ?? "NONE"
        guard let sensitivity = SensitivityTag(rawValue: sens) else {
            throw ModelDecodeError(r.path("sensitivity"), "unknown sensitivity")
        }
        let et = try r.nullableString("event_type") ?? "invoke"
        guard let eventType = TraceEventType(rawValue: et) else {
            throw ModelDecodeError(r.path("event_type"), "unknown event type")
        }
        self.init(actionID: try r.string("action_id"), capabilityID: try r.string("capability_id"),
                  principalID: try r.string("principal_id"), tokenID: try r.nullableString("token_id") ?? "",
                  invokedAt: try r.timestamp("invoked_at"), args: (try r.optionalObject("args") ?? [:]),
                  responseMode: ResponseMode(try r.nullableString("response_mode") ?? "summary"),
                  driverID: try r.nullableString("driver_id") ?? "", handleID: try r.nullableString("handle_id"),
                  error: try r.nullableString("error"), resultSummary: try r.nullableObject("result_summary"),
                  sensitivity: sensitivity, eventType: eventType, reasonCode: try r.nullableString("reason_code"))
    }
}

extension FailedCondition: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        var r = try ModelReader(json, "condition")
        self.init(condition: try r.string("condition"), required: r.value("required"), actual: r.value("actual"),
                  suggestion: try r.nullableString("suggestion") ?? "", reasonCode: try r.nullableString("reason_code"))
    }
}

extension DenialExplanation: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        var r = try ModelReader(json, "explanation")
        var conditions: [FailedCondition] = []
        for c in (try r.optionalArray("failed_conditions") ?? []) { conditions.append(try FailedCondition(json: c)) }
        self.init(denied: (try r.optionalBool("denied") ?? true), ruleName: try r.nullableString("rule_name") ?? "",
                  failedConditions: conditions, remediation: (try r.optionalStringList("remediation") ?? []),
                  narrative: try r.nullableString("narrative") ?? "", reasonCode: try r.nullableString("reason_code"))
    }
}

extension DryRunResult: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        var r = try ModelReader(json, "dry_run")
        self.init(capabilityID: try r.string("capability_id"), principalID: try r.string("principal_id"),
                  policyDecision: try PolicyDecision(json: r.value("policy_decision")),
                  driverID: try r.nullableString("driver_id") ?? "", operation: try r.nullableString("operation") ?? "",
                  resolvedArgs: (try r.optionalObject("resolved_args") ?? [:]),
                  responseMode: ResponseMode(try r.nullableString("response_mode") ?? "summary"),
                  budgetRemaining: try r.optionalInt("budget_remaining"),
                  estimatedCost: try r.nullableString("estimated_cost") ?? "")
    }
}

extension StatsSnapshot: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        var r = try ModelReader(json, "stats")
        self.init()
        grants = (try r.optionalInt("grants") ?? 0)
        denials = (try r.optionalInt("denials") ?? 0)
        invocations = (try r.optionalInt("invocations") ?? 0)
        invocationFailures = (try r.optionalInt("invocation_failures") ?? 0)
        fallbackActivations = (try r.optionalInt("fallback_activations") ?? 0)
        redactionEvents = (try r.optionalInt("redaction_events") ?? 0)
        budgetDowngrades = (try r.optionalInt("budget_downgrades") ?? 0)
        handleStores = (try r.optionalInt("handle_stores") ?? 0)
        expansions = (try r.optionalInt("expansions") ?? 0)
        denialsByReason = (try r.optionalObject("denials_by_reason") ?? [:]).map { ($0.key, $0.value.intValue ?? 0) }
    }
}

extension InvokeResult {
    /// A Frame, or a DryRunResult (told apart by `policy_decision`, which only dry runs carry).
    public init(json: JSONValue) throws(ModelDecodeError) {
        if json["policy_decision"] != nil { self = .dryRun(try DryRunResult(json: json)) } else {
            self = .frame(try Frame(json: json))
        }
    }
}
