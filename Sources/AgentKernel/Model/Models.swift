/// The reference's dataclasses (docs/reference-semantics.md §1.2). JSON shapes are dataclass-as-object
/// mappings with the Python field names, in constructor order (see `Models+JSON.swift`).

/// Who is calling. Host-asserted in the reference; in capgate the gateway derives it
/// from the verified client certificate.
public struct Principal: Sendable, Hashable {
    public var principalID: String
    public var roles: [String]
    public var attributes: JSONObject  // str -> str in the reference
    public init(principalID: String, roles: [String] = [], attributes: JSONObject = [:]) {
        self.principalID = principalID
        self.roles = roles
        self.attributes = attributes
    }
    public func hasRole(_ r: String) -> Bool { roles.contains { PyString.equal($0, r) } }
    public func hasAnyRole(_ rs: [String]) -> Bool { rs.contains { hasRole($0) } }
}

/// Informational only: nothing in the kernel reads it (docs/reference-semantics.md §1.2).
public struct ImplementationRef: Sendable, Hashable {
    public var driverID: String
    public var operation: String
    public init(driverID: String, operation: String) {
        self.driverID = driverID
        self.operation = operation
    }
}

/// Adapter-only hints, carried for fidelity.
public struct ToolHints: Sendable, Hashable {
    public var cacheControl: JSONObject?
    public var strict: Bool
    public init(cacheControl: JSONObject? = nil, strict: Bool = false) {
        self.cacheControl = cacheControl
        self.strict = strict
    }
}

/// A registered capability.
public struct Capability: Sendable, Hashable {
    public var capabilityID: String
    public var name: String
    public var description: String
    public var safetyClass: SafetyClass
    public var sensitivity: SensitivityTag
    /// Output projection applied by the PII/PCI rule (not an input schema).
    public var allowedFields: [String]
    public var tags: [String]
    public var impl: ImplementationRef?
    public var parametersSchema: JSONObject?
    public var toolHints: ToolHints?
    public init(capabilityID: String, name: String, description: String, safetyClass: SafetyClass,
                sensitivity: SensitivityTag = .none, allowedFields: [String] = [], tags: [String] = [],
                impl: ImplementationRef? = nil, parametersSchema: JSONObject? = nil, toolHints: ToolHints? = nil) {
        self.capabilityID = capabilityID
        self.name = name
        self.description = description
        self.safetyClass = safetyClass
        self.sensitivity = sensitivity
        self.allowedFields = allowedFields
        self.tags = tags
        self.impl = impl
        self.parametersSchema = parametersSchema
        self.toolHints = toolHints
    }
}

/// What an agent asks for.
public struct CapabilityRequest: Sendable, Hashable {
    public var capabilityID: String
    public var goal: String
    public var constraints: JSONObject
    public var intent: String?
    public var scope: JSONObject
    public init(capabilityID: String, goal: String, constraints: JSONObject = [:], intent: String? = nil,
                scope: JSONObject = [:]) {
        self.capabilityID = capabilityID
        self.goal = goal
        self.constraints = constraints
        self.intent = intent
        self.scope = scope
    }
}

public struct PolicyTraceStep: Sendable, Hashable {
    public enum Outcome: String, Sendable { case matched, skipped, denied, allowed, constraintApplied = "constraint_applied" }
    public var name: String
    public var outcome: Outcome
    public var detail: String
    public var reasonCode: String?
    public init(name: String, outcome: Outcome, detail: String = "", reasonCode: String? = nil) {
        self.name = name
        self.outcome = outcome
        self.detail = detail
        self.reasonCode = reasonCode
    }
}

public struct PolicyDecisionTrace: Sendable, Hashable {
    public var engine: String
    public var capabilityID: String
    public var principalID: String
    public var intent: String?
    public var scopeKeys: [String]
    public var steps: [PolicyTraceStep]
    public var finalOutcome: String  // "allowed" | "denied"
    public var finalReasonCode: String?
    public init(engine: String, capabilityID: String, principalID: String, intent: String?, scopeKeys: [String] = [],
                steps: [PolicyTraceStep] = [], finalOutcome: String = "denied", finalReasonCode: String? = nil) {
        self.engine = engine
        self.capabilityID = capabilityID
        self.principalID = principalID
        self.intent = intent
        self.scopeKeys = scopeKeys
        self.steps = steps
        self.finalOutcome = finalOutcome
        self.finalReasonCode = finalReasonCode
    }
}

public struct PolicyDecision: Sendable, Hashable {
    public var allowed: Bool
    public var reason: String
    public var constraints: JSONObject
    public var reasonCode: String?
    public var trace: PolicyDecisionTrace?
    public init(allowed: Bool, reason: String, constraints: JSONObject = [:], reasonCode: String? = nil,
                trace: PolicyDecisionTrace? = nil) {
        self.allowed = allowed
        self.reason = reason
        self.constraints = constraints
        self.reasonCode = reasonCode
        self.trace = trace
    }
}

/// An HMAC-signed, expiring grant of one capability to one principal (docs/reference-semantics.md §4).
public struct CapabilityToken: Sendable, Hashable {
    public var tokenID: String
    public var capabilityID: String
    public var principalID: String
    public var issuedAt: Timestamp
    public var expiresAt: Timestamp
    public var constraints: JSONObject
    public var auditID: String
    public var signature: String
    public init(tokenID: String, capabilityID: String, principalID: String, issuedAt: Timestamp, expiresAt: Timestamp,
                constraints: JSONObject = [:], auditID: String = "", signature: String = "") {
        self.tokenID = tokenID
        self.capabilityID = capabilityID
        self.principalID = principalID
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.constraints = constraints
        self.auditID = auditID
        self.signature = signature
    }
}

public struct CapabilityGrant: Sendable, Hashable {
    public var request: CapabilityRequest
    public var principal: Principal
    public var decision: PolicyDecision
    public var token: CapabilityToken
    public var auditID: String
    public init(request: CapabilityRequest, principal: Principal, decision: PolicyDecision, token: CapabilityToken,
                auditID: String) {
        self.request = request
        self.principal = principal
        self.decision = decision
        self.token = token
        self.auditID = auditID
    }
}

public struct RoutePlan: Sendable, Hashable {
    public var capabilityID: String
    public var driverIDs: [String]
    public init(capabilityID: String, driverIDs: [String]) {
        self.capabilityID = capabilityID
        self.driverIDs = driverIDs
    }
}

public struct ExecutionContext: Sendable, Hashable {
    public var capabilityID: String
    public var principalID: String
    public var args: JSONObject
    public var constraints: JSONObject
    public var actionID: String
    public init(capabilityID: String, principalID: String, args: JSONObject = [:], constraints: JSONObject = [:],
                actionID: String = "") {
        self.capabilityID = capabilityID
        self.principalID = principalID
        self.args = args
        self.constraints = constraints
        self.actionID = actionID
    }
    /// `str(args.get("operation", capability_id))`: how every built-in driver and the
    /// dry run resolve the operation (docs/reference-semantics.md §7.3).
    public var operation: String { args["operation"]?.pyStr ?? capabilityID }
}

public struct RawResult: Sendable, Hashable {
    public var capabilityID: String
    public var data: JSONValue
    public var metadata: JSONObject
    public init(capabilityID: String, data: JSONValue, metadata: JSONObject = [:]) {
        self.capabilityID = capabilityID
        self.data = data
        self.metadata = metadata
    }
}

/// A stored result's metadata (docs/reference-semantics.md §9).
///
/// Stored in one copy-on-write box, as `ActionTrace` is: every invoke and expand copies the
/// handle into its Frame and the Frame is copied and destroyed on its way out, and with the
/// fields inline each copy retained and released three strings and two arrays. Value
/// semantics are unchanged: a setter copies the box first unless this value holds the only
/// reference.
public struct Handle: Sendable, Hashable {
    struct Fields: Sendable, Hashable {
        var handleID: String
        var capabilityID: String
        var createdAt: Timestamp
        var expiresAt: Timestamp
        var totalRows: Int
        var principalID: String
        var constraints: JSONObject
    }

    /// Mutated only through `update`, while uniquely referenced: never shared mutably.
    private final class Box: @unchecked Sendable {
        var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    private mutating func update(_ body: (inout Fields) -> Void) {
        if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
        body(&box.fields)
    }

    public var handleID: String {
        get { box.fields.handleID }
        set { update { $0.handleID = newValue } }
    }
    public var capabilityID: String {
        get { box.fields.capabilityID }
        set { update { $0.capabilityID = newValue } }
    }
    public var createdAt: Timestamp {
        get { box.fields.createdAt }
        set { update { $0.createdAt = newValue } }
    }
    public var expiresAt: Timestamp {
        get { box.fields.expiresAt }
        set { update { $0.expiresAt = newValue } }
    }
    public var totalRows: Int {
        get { box.fields.totalRows }
        set { update { $0.totalRows = newValue } }
    }
    public var principalID: String {
        get { box.fields.principalID }
        set { update { $0.principalID = newValue } }
    }
    public var constraints: JSONObject {
        get { box.fields.constraints }
        set { update { $0.constraints = newValue } }
    }

    public init(handleID: String, capabilityID: String, createdAt: Timestamp, expiresAt: Timestamp, totalRows: Int = 0,
                principalID: String = "", constraints: JSONObject = [:]) {
        box = Box(Fields(handleID: handleID, capabilityID: capabilityID, createdAt: createdAt, expiresAt: expiresAt,
                         totalRows: totalRows, principalID: principalID, constraints: constraints))
    }

    public static func == (a: Handle, b: Handle) -> Bool {
        a.box === b.box || a.box.fields == b.box.fields
    }

    public func hash(into hasher: inout Hasher) { box.fields.hash(into: &hasher) }
}

public struct Provenance: Sendable, Hashable {
    public var capabilityID: String
    public var principalID: String
    public var invokedAt: Timestamp
    public var actionID: String
    public init(capabilityID: String, principalID: String, invokedAt: Timestamp, actionID: String) {
        self.capabilityID = capabilityID
        self.principalID = principalID
        self.invokedAt = invokedAt
        self.actionID = actionID
    }
}

/// The bounded, firewalled result of an invoke or expand.
public struct Frame: Sendable, Hashable {
    struct Fields: Sendable, Hashable {
        var capabilityID: String
        var responseMode: ResponseMode
        var facts: [String]
        var tablePreview: [JSONObject]
        var handle: Handle?
        var warnings: [String]
        var provenance: Provenance?
        var rawData: JSONValue
        var isFinal: Bool
    }

    /// Why one copy-on-write box (as `ActionTrace` and `Handle`): the 282-byte Frame built
    /// by every invoke and expand was copied member by member out of its initializer (the
    /// optimizer kept a temporary), a retain and release per string and array. Value
    /// semantics are unchanged: a setter copies the box first unless this value holds the
    /// only reference. The action id stays inline: it is what callers read on their own
    /// (`explain(frame.action_id)`), and a read through the box returned a retained copy.
    private final class Box: @unchecked Sendable {
        var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    private mutating func update(_ body: (inout Fields) -> Void) {
        if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
        body(&box.fields)
    }

    public var actionID: String
    public var capabilityID: String {
        get { box.fields.capabilityID }
        set { update { $0.capabilityID = newValue } }
    }
    public var responseMode: ResponseMode {
        get { box.fields.responseMode }
        set { update { $0.responseMode = newValue } }
    }
    public var facts: [String] {
        get { box.fields.facts }
        set { update { $0.facts = newValue } }
    }
    public var tablePreview: [JSONObject] {
        get { box.fields.tablePreview }
        set { update { $0.tablePreview = newValue } }
    }
    public var handle: Handle? {
        get { box.fields.handle }
        set { update { $0.handle = newValue } }
    }
    public var warnings: [String] {
        get { box.fields.warnings }
        set { update { $0.warnings = newValue } }
    }
    public var provenance: Provenance? {
        get { box.fields.provenance }
        set { update { $0.provenance = newValue } }
    }
    public var rawData: JSONValue {
        get { box.fields.rawData }
        set { update { $0.rawData = newValue } }
    }
    public var isFinal: Bool {
        get { box.fields.isFinal }
        set { update { $0.isFinal = newValue } }
    }

    public init(actionID: String, capabilityID: String, responseMode: ResponseMode, facts: [String] = [],
                tablePreview: [JSONObject] = [], handle: Handle? = nil, warnings: [String] = [],
                provenance: Provenance? = nil, rawData: JSONValue = .null, isFinal: Bool = false) {
        self.actionID = actionID
        box = Box(Fields(capabilityID: capabilityID, responseMode: responseMode, facts: facts,
                         tablePreview: tablePreview, handle: handle, warnings: warnings, provenance: provenance,
                         rawData: rawData, isFinal: isFinal))
    }

    public static func == (a: Frame, b: Frame) -> Bool {
        a.actionID == b.actionID && (a.box === b.box || a.box.fields == b.box.fields)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(actionID)
        box.fields.hash(into: &hasher)
    }
}

/// One audit record (docs/reference-semantics.md §10).
///
/// Stored in one copy-on-write box: a trace is copied into the store on every invoke and
/// expand and out of it on every `explain`, and with its fields inline each copy retained
/// and released every string and container (most of an `explain`). Value semantics are
/// unchanged: a setter copies the box first unless this value holds the only reference.
public struct ActionTrace: Sendable, Hashable {
    struct Fields: Sendable, Hashable {
        var actionID: String
        var capabilityID: String
        var principalID: String
        var tokenID: String
        var invokedAt: Timestamp
        var args: JSONObject
        var responseMode: ResponseMode
        var driverID: String
        var handleID: String?
        var error: String?
        var resultSummary: JSONObject?
        var sensitivity: SensitivityTag
        var eventType: TraceEventType
        var reasonCode: String?
    }

    /// Mutated only through `update`, while uniquely referenced: never shared mutably.
    private final class Box: @unchecked Sendable {
        var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    private mutating func update(_ body: (inout Fields) -> Void) {
        if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
        body(&box.fields)
    }

    public var actionID: String {
        get { box.fields.actionID }
        set { update { $0.actionID = newValue } }
    }
    public var capabilityID: String {
        get { box.fields.capabilityID }
        set { update { $0.capabilityID = newValue } }
    }
    public var principalID: String {
        get { box.fields.principalID }
        set { update { $0.principalID = newValue } }
    }
    public var tokenID: String {
        get { box.fields.tokenID }
        set { update { $0.tokenID = newValue } }
    }
    public var invokedAt: Timestamp {
        get { box.fields.invokedAt }
        set { update { $0.invokedAt = newValue } }
    }
    public var args: JSONObject {
        get { box.fields.args }
        set { update { $0.args = newValue } }
    }
    public var responseMode: ResponseMode {
        get { box.fields.responseMode }
        set { update { $0.responseMode = newValue } }
    }
    public var driverID: String {
        get { box.fields.driverID }
        set { update { $0.driverID = newValue } }
    }
    public var handleID: String? {
        get { box.fields.handleID }
        set { update { $0.handleID = newValue } }
    }
    public var error: String? {
        get { box.fields.error }
        set { update { $0.error = newValue } }
    }
    public var resultSummary: JSONObject? {
        get { box.fields.resultSummary }
        set { update { $0.resultSummary = newValue } }
    }
    public var sensitivity: SensitivityTag {
        get { box.fields.sensitivity }
        set { update { $0.sensitivity = newValue } }
    }
    public var eventType: TraceEventType {
        get { box.fields.eventType }
        set { update { $0.eventType = newValue } }
    }
    public var reasonCode: String? {
        get { box.fields.reasonCode }
        set { update { $0.reasonCode = newValue } }
    }

    public init(actionID: String, capabilityID: String, principalID: String, tokenID: String, invokedAt: Timestamp,
                args: JSONObject, responseMode: ResponseMode, driverID: String, handleID: String? = nil,
                error: String? = nil, resultSummary: JSONObject? = nil, sensitivity: SensitivityTag = .none,
                eventType: TraceEventType = .invoke, reasonCode: String? = nil) {
        box = Box(Fields(actionID: actionID, capabilityID: capabilityID, principalID: principalID, tokenID: tokenID,
                         invokedAt: invokedAt, args: args, responseMode: responseMode, driverID: driverID,
                         handleID: handleID, error: error, resultSummary: resultSummary, sensitivity: sensitivity,
                         eventType: eventType, reasonCode: reasonCode))
    }

    public static func == (a: ActionTrace, b: ActionTrace) -> Bool {
        a.box === b.box || a.box.fields == b.box.fields
    }

    public func hash(into hasher: inout Hasher) { box.fields.hash(into: &hasher) }
}

public struct FailedCondition: Sendable, Hashable {
    public var condition: String
    public var required: JSONValue
    public var actual: JSONValue
    public var suggestion: String
    public var reasonCode: String?
    public init(condition: String, required: JSONValue, actual: JSONValue, suggestion: String, reasonCode: String? = nil) {
        self.condition = condition
        self.required = required
        self.actual = actual
        self.suggestion = suggestion
        self.reasonCode = reasonCode
    }
}

public struct DenialExplanation: Sendable, Hashable {
    public var denied: Bool
    public var ruleName: String
    public var failedConditions: [FailedCondition]
    public var remediation: [String]
    public var narrative: String
    public var reasonCode: String?
    public init(denied: Bool, ruleName: String, failedConditions: [FailedCondition], remediation: [String],
                narrative: String, reasonCode: String? = nil) {
        self.denied = denied
        self.ruleName = ruleName
        self.failedConditions = failedConditions
        self.remediation = remediation
        self.narrative = narrative
        self.reasonCode = reasonCode
    }
}

public struct DryRunResult: Sendable, Hashable {
    public var capabilityID: String
    public var principalID: String
    public var policyDecision: PolicyDecision
    public var driverID: String
    public var operation: String
    public var resolvedArgs: JSONObject
    public var responseMode: ResponseMode
    public var budgetRemaining: Int?
    public var estimatedCost: String  // low | medium | high
    public init(capabilityID: String, principalID: String, policyDecision: PolicyDecision, driverID: String,
                operation: String, resolvedArgs: JSONObject, responseMode: ResponseMode, budgetRemaining: Int?,
                estimatedCost: String) {
        self.capabilityID = capabilityID
        self.principalID = principalID
        self.policyDecision = policyDecision
        self.driverID = driverID
        self.operation = operation
        self.resolvedArgs = resolvedArgs
        self.responseMode = responseMode
        self.budgetRemaining = budgetRemaining
        self.estimatedCost = estimatedCost
    }
}

/// The result of `invoke`: a Frame, or a DryRunResult when `dry_run` was set.
public enum InvokeResult: Sendable, Hashable {
    case frame(Frame)
    case dryRun(DryRunResult)
}

public struct TraceQuery: Sendable, Hashable {
    public var principalID: String?
    public var capabilityID: String?
    public var eventType: TraceEventType?
    public var outcome: String?  // "succeeded" | "failed"
    public var reasonCode: String?
    public var since: Timestamp?
    public var until: Timestamp?
    public var limit: Int?
    public var offset: Int
    public init(principalID: String? = nil, capabilityID: String? = nil, eventType: TraceEventType? = nil,
                outcome: String? = nil, reasonCode: String? = nil, since: Timestamp? = nil, until: Timestamp? = nil,
                limit: Int? = nil, offset: Int = 0) {
        self.principalID = principalID
        self.capabilityID = capabilityID
        self.eventType = eventType
        self.outcome = outcome
        self.reasonCode = reasonCode
        self.since = since
        self.until = until
        self.limit = limit
        self.offset = offset
    }
}

public struct StatsSnapshot: Sendable, Hashable {
    public var grants = 0
    public var denials = 0
    public var invocations = 0
    public var invocationFailures = 0
    public var fallbackActivations = 0
    public var redactionEvents = 0
    public var budgetDowngrades = 0
    public var handleStores = 0
    public var expansions = 0
    /// Reason code -> count, in first-seen order.
    public var denialsByReason: [(String, Int)] = []
    public init() {}
    public static func == (a: StatsSnapshot, b: StatsSnapshot) -> Bool { a.json == b.json }
    public func hash(into h: inout Hasher) { h.combine(json) }
}

/// Firewall per-frame caps (`Budgets`).
public struct Budgets: Sendable, Hashable {
    public var maxRows: Int
    public var maxFields: Int
    public var maxChars: Int
    public var maxDepth: Int
    public init(maxRows: Int = 50, maxFields: Int = 20, maxChars: Int = 4000, maxDepth: Int = 3) {
        self.maxRows = maxRows
        self.maxFields = maxFields
        self.maxChars = maxChars
        self.maxDepth = maxDepth
    }
}
