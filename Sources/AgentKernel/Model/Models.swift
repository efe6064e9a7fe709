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
///
/// Its fields live in one immutable box: every grant, invoke and expand copies the
/// registered capability out of the registry, and copying ten fields (eight references,
/// retained then released) was ~3% of a grant; a copy is now one reference. A setter
/// builds a new box, so the value semantics are unchanged; == and hashing compare the
/// fields in declaration order, as the synthesized conformance did.
public struct Capability: Sendable, Hashable {
    struct Fields: Sendable {
        var capabilityID: String
        var name: String
        var description: String
        var safetyClass: SafetyClass
        var sensitivity: SensitivityTag
        var allowedFields: [String]
        var tags: [String]
        var impl: ImplementationRef?
        var parametersSchema: JSONObject?
        var toolHints: ToolHints?
    }

    private final class Storage: Sendable {
        let fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var storage: Storage

    /// A setter builds a new box: the shared one never changes.
    private mutating func update(_ change: (inout Fields) -> Void) {
        var f = storage.fields
        change(&f)
        storage = Storage(f)
    }

    public init(capabilityID: String, name: String, description: String, safetyClass: SafetyClass,
                sensitivity: SensitivityTag = .none, allowedFields: [String] = [], tags: [String] = [],
                impl: ImplementationRef? = nil, parametersSchema: JSONObject? = nil, toolHints: ToolHints? = nil) {
        storage = Storage(Fields(capabilityID: capabilityID, name: name, description: description,
                                 safetyClass: safetyClass, sensitivity: sensitivity, allowedFields: allowedFields,
                                 tags: tags, impl: impl, parametersSchema: parametersSchema, toolHints: toolHints))
    }

    public var capabilityID: String {
        get { storage.fields.capabilityID }
        set { update { $0.capabilityID = newValue } }
    }
    public var name: String {
        get { storage.fields.name }
        set { update { $0.name = newValue } }
    }
    public var description: String {
        get { storage.fields.description }
        set { update { $0.description = newValue } }
    }
    public var safetyClass: SafetyClass {
        get { storage.fields.safetyClass }
        set { update { $0.safetyClass = newValue } }
    }
    public var sensitivity: SensitivityTag {
        get { storage.fields.sensitivity }
        set { update { $0.sensitivity = newValue } }
    }
    /// Output projection applied by the PII/PCI rule (not an input schema).
    public var allowedFields: [String] {
        get { storage.fields.allowedFields }
        set { update { $0.allowedFields = newValue } }
    }
    public var tags: [String] {
        get { storage.fields.tags }
        set { update { $0.tags = newValue } }
    }
    public var impl: ImplementationRef? {
        get { storage.fields.impl }
        set { update { $0.impl = newValue } }
    }
    public var parametersSchema: JSONObject? {
        get { storage.fields.parametersSchema }
        set { update { $0.parametersSchema = newValue } }
    }
    public var toolHints: ToolHints? {
        get { storage.fields.toolHints }
        set { update { $0.toolHints = newValue } }
    }

    public static func == (a: Capability, b: Capability) -> Bool {
        a.capabilityID == b.capabilityID
            && a.name == b.name
            && a.description == b.description
            && a.safetyClass == b.safetyClass
            && a.sensitivity == b.sensitivity
            && a.allowedFields == b.allowedFields
            && a.tags == b.tags
            && a.impl == b.impl
            && a.parametersSchema == b.parametersSchema
            && a.toolHints == b.toolHints
    }

    public func hash(into h: inout Hasher) {
        h.combine(capabilityID)
        h.combine(name)
        h.combine(description)
        h.combine(safetyClass)
        h.combine(sensitivity)
        h.combine(allowedFields)
        h.combine(tags)
        h.combine(impl)
        h.combine(parametersSchema)
        h.combine(toolHints)
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

/// What a policy decided: allowed or not, why, the constraints to sign, and how.
///
/// Its fields live in one immutable box: a grant hands the decision from the policy to the
/// kernel and into the grant, and the optimizer copied and destroyed the whole value (its
/// trace included, thirteen references) around the policy's return, ~a third of the
/// default policy's evaluation. A copy is now one reference; a setter builds a new box, so
/// the value keeps its value semantics (`decision.trace?.steps = ...` works as before).
public struct PolicyDecision: Sendable, Hashable {
    struct Fields: Sendable {
        var allowed: Bool
        var reason: String
        var constraints: JSONObject
        var reasonCode: String?
        var trace: PolicyDecisionTrace?
    }

    private final class Storage: Sendable {
        let fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var storage: Storage

    /// A setter builds a new box: the shared one never changes.
    private mutating func update(_ change: (inout Fields) -> Void) {
        var f = storage.fields
        change(&f)
        storage = Storage(f)
    }

    public init(allowed: Bool, reason: String, constraints: JSONObject = [:], reasonCode: String? = nil,
                trace: PolicyDecisionTrace? = nil) {
        storage = Storage(Fields(allowed: allowed, reason: reason, constraints: constraints, reasonCode: reasonCode,
                                 trace: trace))
    }

    /// `allowed: true` with `reasonCode` and a trace of `engine` that ends `allowed` with
    /// that code after `steps` (the default policy's grants), built in place in the box (a
    /// trace built by the caller was copied in, then destroyed).
    init(allowedBy engine: String, reason: String, constraints: JSONObject, reasonCode: String,
         capabilityID: String, principalID: String, intent: String?, scopeKeys: [String], steps: [PolicyTraceStep]) {
        storage = Storage(Fields(
            allowed: true, reason: reason, constraints: constraints, reasonCode: reasonCode,
            trace: PolicyDecisionTrace(engine: engine, capabilityID: capabilityID, principalID: principalID,
                                       intent: intent, scopeKeys: scopeKeys, steps: steps, finalOutcome: "allowed",
                                       finalReasonCode: reasonCode)))
    }

    public var allowed: Bool {
        get { storage.fields.allowed }
        set { update { $0.allowed = newValue } }
    }
    public var reason: String {
        get { storage.fields.reason }
        set { update { $0.reason = newValue } }
    }
    public var constraints: JSONObject {
        get { storage.fields.constraints }
        set { update { $0.constraints = newValue } }
    }
    public var reasonCode: String? {
        get { storage.fields.reasonCode }
        set { update { $0.reasonCode = newValue } }
    }
    public var trace: PolicyDecisionTrace? {
        get { storage.fields.trace }
        set { update { $0.trace = newValue } }
    }

    public static func == (a: PolicyDecision, b: PolicyDecision) -> Bool {
        a.allowed == b.allowed
            && a.reason == b.reason
            && a.constraints == b.constraints
            && a.reasonCode == b.reasonCode
            && a.trace == b.trace
    }

    public func hash(into h: inout Hasher) {
        h.combine(allowed)
        h.combine(reason)
        h.combine(constraints)
        h.combine(reasonCode)
        h.combine(trace)
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
/// Stored in one immutable box, as `ActionTrace` is: every invoke and expand copies the
/// handle into its Frame and the Frame is copied and destroyed on its way out, and with the
/// fields inline each copy retained and released three strings and two arrays. Value
/// semantics are unchanged: a setter builds a new box.
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

    /// Never mutated: a setter builds a new box (`update`). Why immutable: a read of a
    /// `var` field of a class copies the value out (a retain and a release of every string
    /// or array read), since nothing proves the field unchanged while it is used; a `let`
    /// field is read in place while the handle keeps the box alive. Expand reads the stored
    /// constraints and ids on every call, while setters are used by no verb (a stored
    /// handle is never changed), so a setter's allocation costs nothing on a hot path.
    private final class Box: Sendable {
        let fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    private mutating func update(_ body: (inout Fields) -> Void) {
        var fields = box.fields
        body(&fields)
        box = Box(fields)
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

    /// Why one box (as `ActionTrace` and `Handle`): the 282-byte Frame built by every invoke
    /// and expand was copied member by member out of its initializer (the optimizer kept a
    /// temporary), a retain and release per string and array. The action id stays inline:
    /// it is what callers read on their own (`explain(frame.action_id)`), and a read through
    /// the box returned a retained copy.
    ///
    /// Never mutated: a setter builds a new box (`update`), as `Handle`'s does. Why
    /// immutable: a read of a `var` field of a class copies the value out (a retain and a
    /// release per string or array read), since nothing proves the field unchanged while it
    /// is used; a `let` field is read in place while the frame keeps the box alive. Every
    /// expand and invoke reads its frame's fields for the trace and the wire, while the
    /// kernel gives `isFinal` at construction, so no verb calls a setter.
    private final class Box: Sendable {
        let fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    private mutating func update(_ body: (inout Fields) -> Void) {
        var fields = box.fields
        body(&fields)
        box = Box(fields)
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

    /// What a trace's result summary counts, read in place: through the public getters each
    /// array was copied out of the box for its count (a retain and a release apiece), on
    /// every invoke and expand.
    var summaryCounts: (facts: Int, rows: Int, warnings: Int, hasHandle: Bool) {
        let hasHandle: Bool
        if case .some = box.fields.handle { hasHandle = true } else { hasHandle = false }
        return (box.fields.facts.count, box.fields.tablePreview.count, box.fields.warnings.count, hasHandle)
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
/// Stored in one immutable box: a trace is copied into the store on every invoke and
/// expand and out of it on every `explain`, and with its fields inline each copy retained
/// and released every string and container (most of an `explain`). Value semantics are
/// unchanged: a setter builds a new box.
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
        var resultSummary: TraceSummary
        var sensitivity: SensitivityTag
        var eventType: TraceEventType
        var reasonCode: String?
    }

    /// Never mutated: a setter builds a new box (`update`), as `Handle`'s does. Why
    /// immutable: a read of a `var` field of a class copies the value out (a retain and a
    /// release per string or array read); a `let` field is read in place while the trace
    /// keeps the box alive. Every record reads the trace's id, every `explain` writes all
    /// its fields, and no verb uses a setter (a recorded trace is never changed).
    private final class Box: Sendable {
        let fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    private mutating func update(_ body: (inout Fields) -> Void) {
        var fields = box.fields
        body(&fields)
        box = Box(fields)
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
        get { box.fields.resultSummary.object }
        set { update { $0.resultSummary = TraceSummary(newValue) } }
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
        self.init(actionID: actionID, capabilityID: capabilityID, principalID: principalID, tokenID: tokenID,
                  invokedAt: invokedAt, args: args, responseMode: responseMode, driverID: driverID,
                  handleID: handleID, error: error, summary: TraceSummary(resultSummary), sensitivity: sensitivity,
                  eventType: eventType, reasonCode: reasonCode)
    }

    /// The kernel's own: the result summary as `Kernel.traceSummary` files it (by index
    /// when it is one of the shared summaries).
    init(actionID: String, capabilityID: String, principalID: String, tokenID: String, invokedAt: Timestamp,
         args: JSONObject, responseMode: ResponseMode, driverID: String, handleID: String? = nil,
         error: String? = nil, summary: TraceSummary, sensitivity: SensitivityTag = .none,
         eventType: TraceEventType = .invoke, reasonCode: String? = nil) {
        box = Box(Fields(actionID: actionID, capabilityID: capabilityID, principalID: principalID, tokenID: tokenID,
                         invokedAt: invokedAt, args: args, responseMode: responseMode, driverID: driverID,
                         handleID: handleID, error: error, resultSummary: summary, sensitivity: sensitivity,
                         eventType: eventType, reasonCode: reasonCode))
    }

    public static func == (a: ActionTrace, b: ActionTrace) -> Bool {
        a.box === b.box || a.box.fields == b.box.fields
    }

    public func hash(into hasher: inout Hasher) { box.fields.hash(into: &hasher) }
}

/// A trace's result summary as the trace keeps it: none, one of the kernel's shared
/// summaries (`SharedResultSummaries`) by its index, or its own object.
///
/// Why an index: a shared summary held as a `JSONObject` is two references, retained when
/// every invoke and expand records its trace and released again when the store evicts it
/// 10,000 records later (four atomic operations per trace, on the busiest objects). Reads
/// see the same object either way (`object`), and equality and hashing are the object's,
/// so a trace compares, hashes and serializes exactly as one holding the object itself.
enum TraceSummary: Sendable, Hashable {
    case none
    case shared(Int)
    case own(JSONObject)

    init(_ object: JSONObject?) {
        if let object { self = .own(object) } else { self = .none }
    }

    var object: JSONObject? {
        switch self {
        case .none: return nil
        case .shared(let i): return SharedResultSummaries.summary(at: i)
        case .own(let o): return o
        }
    }

    static func == (a: TraceSummary, b: TraceSummary) -> Bool { a.object == b.object }
    func hash(into h: inout Hasher) { h.combine(object) }
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
