/// Decoders for the result models, so a client can rebuild exactly what the kernel
/// returned (the wire carries the full shapes of `Models+JSON.swift`).
extension FieldReader {
    func bool(_ key: String, default d: Bool) throws(ModelDecodeError) -> Bool {
        guard let v = object[key], !v.isNull else { return d }
        guard case .bool(let b) = v else { throw ModelDecodeError(path(key), "must be a boolean") }
        return b
    }

    func optInt(_ key: String) throws(ModelDecodeError) -> Int? {
        guard let v = object[key], !v.isNull else { return nil }
        guard case .int(let i) = v else { throw ModelDecodeError(path(key), "must be an integer") }
        return i
    }

    func optTimestamp(_ key: String) throws(ModelDecodeError) -> Timestamp? {
        guard let s = try optString(key) else { return nil }
        guard let t = Timestamp(isoformat: s) else { throw ModelDecodeError(path(key), "must be an ISO 8601 datetime") }
        return t
    }

    func array(_ key: String) throws(ModelDecodeError) -> [JSONValue] {
        guard let v = object[key], !v.isNull else { return [] }
        guard case .array(let a) = v else { throw ModelDecodeError(path(key), "must be an array") }
        return a
    }

    func value(_ key: String) -> JSONValue { object[key] ?? .null }
}

extension PolicyTraceStep: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        let r = try FieldReader(json, "step")
        let o = try r.string("outcome")
        guard let outcome = Outcome(rawValue: o) else { throw ModelDecodeError(r.path("outcome"), "unknown outcome") }
        self.init(name: try r.string("name"), outcome: outcome, detail: try r.optString("detail") ?? "",
                  reasonCode: try r.optString("reason_code"))
    }
}

extension PolicyDecisionTrace: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        let r = try FieldReader(json, "trace")
        var steps: [PolicyTraceStep] = []
        for s in try r.array("steps") { steps.append(try PolicyTraceStep(json: s)) }
        self.init(engine: try r.string("engine"), capabilityID: try r.string("capability_id"),
                  principalID: try r.string("principal_id"), intent: try r.optString("intent"),
                  scopeKeys: try r.stringList("scope_keys"), steps: steps,
                  finalOutcome: try r.optString("final_outcome") ?? "denied",
                  finalReasonCode: try r.optString("final_reason_code"))
    }
}

extension PolicyDecision: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        let r = try FieldReader(json, "decision")
        let trace = r.value("trace")
        self.init(allowed: try r.bool("allowed", default: false), reason: try r.optString("reason") ?? "",
                  constraints: try r.object("constraints"), reasonCode: try r.optString("reason_code"),
                  trace: trace.isNull ? nil : try PolicyDecisionTrace(json: trace))
    }
}

extension CapabilityGrant: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        let r = try FieldReader(json, "grant")
        self.init(request: try CapabilityRequest(json: r.value("request")),
                  principal: try Principal(json: r.value("principal")),
                  decision: try PolicyDecision(json: r.value("decision")),
                  token: try CapabilityToken(json: r.value("token")), auditID: try r.string("audit_id"))
    }
}

extension Provenance: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        let r = try FieldReader(json, "provenance")
        self.init(capabilityID: try r.string("capability_id"), principalID: try r.string("principal_id"),
                  invokedAt: try r.timestamp("invoked_at"), actionID: try r.string("action_id"))
    }
}

extension Frame: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        let r = try FieldReader(json, "frame")
        var rows: [JSONObject] = []
        for row in try r.array("table_preview") {
            guard case .object(let o) = row else { throw ModelDecodeError(r.path("table_preview"), "rows must be objects") }
            rows.append(o)
        }
        let handle = r.value("handle")
        let provenance = r.value("provenance")
        self.init(actionID: try r.string("action_id"), capabilityID: try r.string("capability_id"),
                  responseMode: ResponseMode(try r.string("response_mode")), facts: try r.stringList("facts"),
                  tablePreview: rows, handle: handle.isNull ? nil : try Handle(json: handle),
                  warnings: try r.stringList("warnings"),
                  provenance: provenance.isNull ? nil : try Provenance(json: provenance),
                  rawData: r.value("raw_data"), isFinal: try r.bool("is_final", default: false))
    }
}

extension ActionTrace: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        let r = try FieldReader(json, "trace")
        let sens = try r.optString("sensitivity") ?? "NONE"
        guard let sensitivity = SensitivityTag(rawValue: sens) else {
            throw ModelDecodeError(r.path("sensitivity"), "unknown sensitivity")
        }
        let et = try r.optString("event_type") ?? "invoke"
        guard let eventType = TraceEventType(rawValue: et) else {
            throw ModelDecodeError(r.path("event_type"), "unknown event type")
        }
        self.init(actionID: try r.string("action_id"), capabilityID: try r.string("capability_id"),
                  principalID: try r.string("principal_id"), tokenID: try r.optString("token_id") ?? "",
                  invokedAt: try r.timestamp("invoked_at"), args: try r.object("args"),
                  responseMode: ResponseMode(try r.optString("response_mode") ?? "summary"),
                  driverID: try r.optString("driver_id") ?? "", handleID: try r.optString("handle_id"),
                  error: try r.optString("error"), resultSummary: try r.optObject("result_summary"),
                  sensitivity: sensitivity, eventType: eventType, reasonCode: try r.optString("reason_code"))
    }
}

extension FailedCondition: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        let r = try FieldReader(json, "condition")
        self.init(condition: try r.string("condition"), required: r.value("required"), actual: r.value("actual"),
                  suggestion: try r.optString("suggestion") ?? "", reasonCode: try r.optString("reason_code"))
    }
}

extension DenialExplanation: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        let r = try FieldReader(json, "explanation")
        var conditions: [FailedCondition] = []
        for c in try r.array("failed_conditions") { conditions.append(try FailedCondition(json: c)) }
        self.init(denied: try r.bool("denied", default: true), ruleName: try r.optString("rule_name") ?? "",
                  failedConditions: conditions, remediation: try r.stringList("remediation"),
                  narrative: try r.optString("narrative") ?? "", reasonCode: try r.optString("reason_code"))
    }
}

extension DryRunResult: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        let r = try FieldReader(json, "dry_run")
        self.init(capabilityID: try r.string("capability_id"), principalID: try r.string("principal_id"),
                  policyDecision: try PolicyDecision(json: r.value("policy_decision")),
                  driverID: try r.optString("driver_id") ?? "", operation: try r.optString("operation") ?? "",
                  resolvedArgs: try r.object("resolved_args"),
                  responseMode: ResponseMode(try r.optString("response_mode") ?? "summary"),
                  budgetRemaining: try r.optInt("budget_remaining"),
                  estimatedCost: try r.optString("estimated_cost") ?? "")
    }
}

extension StatsSnapshot: JSONDecodableModel {
    public init(json: JSONValue) throws(ModelDecodeError) {
        let r = try FieldReader(json, "stats")
        self.init()
        grants = try r.int("grants", default: 0)
        denials = try r.int("denials", default: 0)
        invocations = try r.int("invocations", default: 0)
        invocationFailures = try r.int("invocation_failures", default: 0)
        fallbackActivations = try r.int("fallback_activations", default: 0)
        redactionEvents = try r.int("redaction_events", default: 0)
        budgetDowngrades = try r.int("budget_downgrades", default: 0)
        handleStores = try r.int("handle_stores", default: 0)
        expansions = try r.int("expansions", default: 0)
        denialsByReason = try r.object("denials_by_reason").map { ($0.key, $0.value.intValue ?? 0) }
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
