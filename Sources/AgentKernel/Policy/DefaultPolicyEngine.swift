import Synchronization

/// The reference's role-based default policy (docs/reference-semantics.md §5.1, `policy.DefaultPolicyEngine`),
/// rule for rule and message for message, plus its grant-time rate limit (§5.2).
///
/// Rules, in order (the first failure raises `PolicyDenied`):
/// 1. WRITE needs writer/admin, DESTRUCTIVE needs admin; both need a justification of
///    at least 15 code points after `strip()`.
/// 2. PII/PCI needs a `tenant` attribute; non-`pii_reader`s get `allowed_fields` pinned.
/// 3. SECRETS needs admin/secrets_reader and a 15-character justification.
/// 4. MEMORY writes need memory_writer/admin; sensitive-scope reads need
///    memory_reader_sensitive/admin.
/// 5. `max_rows` is clamped to [0, 50] (500 for `service`).
/// 6. Sliding-window rate limit per `principal:capability`, checked and recorded
///    atomically (so concurrent grants cannot exceed it).
public final class DefaultPolicyEngine: PolicyEngine {
    static let minJustification = 15
    static let maxRowsUser = 50
    static let maxRowsService = 500

    public var engineName: String { "DefaultPolicyEngine" }

    let rateLimits: [SafetyClass: RateLimit]
    /// `rateLimits` by class, read on every grant without hashing the class.
    private let readLimit: RateLimit?, writeLimit: RateLimit?, destructiveLimit: RateLimit?
    let limiter: any RateLimiting
    let clock: any KernelClock

    /// Overrides merge per class into the defaults; each limit needs `limit >= 1` and
    /// `window > 0` (AgentKernelError otherwise, checked READ, WRITE, DESTRUCTIVE).
    /// `limiter`: where the windows live; a fleet passes one that also counts the other
    /// sidecars' grants (docs/deployment.md).
    public init(rateLimits: [SafetyClass: RateLimit] = [:], clock: any KernelClock = SystemClock(),
                limiter: any RateLimiting = SlidingWindowRateLimiter()) throws(KernelError) {
        var merged = RateLimit.defaults
        for (k, v) in rateLimits { merged[k] = v }
        for sc in [SafetyClass.read, .write, .destructive] {
            guard let rl = merged[sc] else { continue }
            if rl.limit < 1 || !(rl.windowSeconds > 0) {
                throw KernelError(.agentKernelError,
                                  "Invalid rate limit for \(sc.rawValue): limit must be >= 1 and window must be > 0, "
                                      + "got limit=\(rl.limit), window=\(PyFloat.repr(rl.windowSeconds)).")
            }
        }
        self.rateLimits = merged
        self.readLimit = merged[.read]
        self.writeLimit = merged[.write]
        self.destructiveLimit = merged[.destructive]
        self.clock = clock
        self.limiter = limiter
    }

    private func deny(_ detail: String, _ code: String) -> KernelError {
        KernelError(.policyDenied, detail, reasonCode: code)
    }

    private func justificationDenial(_ what: String, _ justification: String) -> KernelError? {
        let stripped = PyString.len(PyString.strip(justification))
        guard stripped < Self.minJustification else { return nil }
        return deny("\(what) capabilities require a justification of at least \(Self.minJustification) characters. "
                        + "Got \(PyString.len(justification)) characters (\(stripped) after trimming whitespace).",
                    ReasonCode.insufficientJustification)
    }

    public func evaluate(_ request: CapabilityRequest, capability: Capability, principal: Principal,
                         justification: String) throws(KernelError) -> PolicyDecision {
        let pid = principal.principalID
        let cid = capability.capabilityID
        // A request without constraints (the usual one) ends with one of four objects
        // (`max_rows` alone or after the pinned `allowed_fields`, for a user or a service),
        // shared instead of built: no arrays allocated per grant. Otherwise the request's
        // constraints are copied once, with room for the two keys the policy may add.
        let plain = request.constraints.isEmpty
        var constraints = JSONObject()
        if !plain {
            constraints = request.constraints
            constraints.reserveCapacity(constraints.count + 2)
        }
        // The trace is built once, at the end, in the decision: a denial throws it away, and
        // an allowed grant's steps are always [allowed_fields?, row_cap, allow] with the same
        // details, so they are shared arrays (no steps array allocated, no step built, and
        // no trace copied into the decision, ~a quarter of the evaluation).
        var pinned: AllowedFieldsForms?

        // 1. Safety class.
        switch capability.safetyClass {
        case .write:
            if !principal.hasAnyRole(["writer", "admin"]) {
                throw deny("WRITE capabilities require the 'writer' or 'admin' role. Principal '\(pid)' has roles: "
                               + "\(Self.rolesRepr(principal)).", ReasonCode.missingRole)
            }
            if let e = justificationDenial("WRITE", justification) { throw e }
        case .destructive:
            if !principal.hasRole("admin") {
                throw deny("DESTRUCTIVE capabilities require the 'admin' role. Principal '\(pid)' has roles: "
                               + "\(Self.rolesRepr(principal)).", ReasonCode.missingRole)
            }
            if let e = justificationDenial("DESTRUCTIVE", justification) { throw e }
        case .read:
            break
        }

        // 2. PII / PCI.
        if capability.sensitivity == .pii || capability.sensitivity == .pci {
            if principal.attributes.index(of: "tenant") == nil {
                throw deny("Capability '\(cid)' has \(capability.sensitivity.rawValue) sensitivity and requires the "
                               + "principal to have a 'tenant' attribute.", ReasonCode.missingTenantAttribute)
            }
            if !capability.allowedFields.isEmpty && !principal.hasRole("pii_reader") {
                let forms = allowedFieldsForms(capability.allowedFields)
                if !plain { constraints["allowed_fields"] = forms.constraint }
                pinned = forms
            }
        }

        // 3. SECRETS.
        if capability.sensitivity == .secrets {
            if !principal.hasAnyRole(["admin", "secrets_reader"]) {
                throw deny("SECRETS capabilities require the 'admin' or 'secrets_reader' role. Principal '\(pid)' has "
                               + "roles: \(Self.rolesRepr(principal)).", ReasonCode.missingRole)
            }
            if let e = justificationDenial("SECRETS", justification) { throw e }
        }

        // 4. MEMORY (after the other sensitivity checks: "rule placement matters").
        if capability.sensitivity == .memory {
            let isWrite = capability.safetyClass != .read
            if isWrite && !principal.hasAnyRole(["memory_writer", "admin"]) {
                throw deny("MEMORY write capabilities require the 'memory_writer' or 'admin' role. Principal '\(pid)' "
                               + "has roles: \(Self.rolesRepr(principal)).", ReasonCode.memoryWriteRequiresWriter)
            }
            if !isWrite && Self.memoryScope(request) == "sensitive"
                && !principal.hasAnyRole(["memory_reader_sensitive", "admin"]) {
                throw deny("MEMORY read with scope='sensitive' requires the 'memory_reader_sensitive' or 'admin' role. "
                               + "Principal '\(pid)' has roles: \(Self.rolesRepr(principal)).", ReasonCode.memorySensitiveReadDenied)
            }
        }

        // 5. Row cap.
        let service = principal.hasRole("service")  // read again by the rate limit
        let cap = service ? Self.maxRowsService : Self.maxRowsUser
        if plain {
            // Without scope, `allowedDecision` picks the same object (or reuses a decision).
            if !request.scope.isEmpty { constraints = Self.plainConstraints(service: service, pinned: pinned) }
        } else if let raw = constraints["max_rows"] {
            guard let requested = PyInt.coerce(raw) else {
                throw deny("Invalid 'max_rows' constraint: \(raw.pyRepr) is not a valid integer.",
                           ReasonCode.invalidConstraint)
            }
            constraints["max_rows"] = .int(min(max(requested, 0), cap))
        } else {
            constraints["max_rows"] = .int(cap)
        }

        // 6. Rate limit: only allowed grants consume quota.
        if let rl = rateLimit(capability.safetyClass) {
            let limit = service ? rl.limit * RateLimit.serviceMultiplier : rl.limit
            if !limiter.tryAcquire(principalID: pid, capabilityID: cid, limit: limit, window: rl.windowSeconds,
                                   now: clock.monotonic()) {
                throw deny("Rate limit exceeded: \(limit) \(capability.safetyClass.rawValue) invocations per "
                               + "\(PyFloat.repr(rl.windowSeconds))s for principal '\(pid)'", ReasonCode.rateLimited)
            }
        }

        // No constraints and no scope (the usual request): the decision is the last one's
        // when built from the same inputs (no box allocated, no fields retained).
        if plain && request.scope.isEmpty {
            return allowedDecision(capabilityID: cid, principalID: pid, intent: request.intent, service: service,
                                   pinned: pinned)
        }
        let scopeKeys = request.scope.isEmpty ? [] : request.scope.keys.sorted(by: PyString.less)
        return PolicyDecision(
            allowedBy: engineName, reason: Self.allowReason, constraints: constraints,
            reasonCode: ReasonCode.defaultPolicyAllow, capabilityID: cid, principalID: pid, intent: request.intent,
            scopeKeys: scopeKeys, steps: pinned?.steps ?? Self.rowCapAndAllow)
    }

    /// The principal's sorted roles as a Python list, for denial messages (a function, not
    /// a closure in `evaluate`: the closure captured, and retained, the principal on
    /// every grant).
    static func rolesRepr(_ principal: Principal) -> String { pyListRepr(pySortedRoles(principal.roles)) }

    /// `rateLimits[safetyClass]`.
    private func rateLimit(_ safetyClass: SafetyClass) -> RateLimit? {
        switch safetyClass {
        case .read: return readLimit
        case .write: return writeLimit
        case .destructive: return destructiveLimit
        }
    }

    static let allowReason = "Request approved by DefaultPolicyEngine."

    /// The steps closing every allowed grant: the row cap, then the allow.
    static let rowCapAndAllow = [
        PolicyTraceStep(name: "row_cap", outcome: .constraintApplied, detail: "max_rows capped"),
        PolicyTraceStep(name: "allow", outcome: .allowed, detail: allowReason, reasonCode: ReasonCode.defaultPolicyAllow),
    ]

    /// An unconstrained request's final constraints without pinned fields.
    static let cappedUser: JSONObject = ["max_rows": .int(maxRowsUser)]
    static let cappedService: JSONObject = ["max_rows": .int(maxRowsService)]

    /// A capability's `allowed_fields` as the pinned constraint, as an allowed grant's whole
    /// step list (`applied allowed_fields=[...]` first) and as an unconstrained request's
    /// final constraints (`allowed_fields`, then `max_rows`, as the policy inserts them).
    /// A class: every PII grant reads the memo, and copying five collections out of it
    /// (eight retains, then as many releases) was ~3% of such a grant; now it is one.
    final class AllowedFieldsForms: Sendable {
        let fields: [String]
        let constraint: JSONValue
        let steps: [PolicyTraceStep]
        let cappedUser: JSONObject
        let cappedService: JSONObject

        init(fields: [String], constraint: JSONValue, steps: [PolicyTraceStep], cappedUser: JSONObject,
             cappedService: JSONObject) {
            self.fields = fields
            self.constraint = constraint
            self.steps = steps
            self.cappedUser = cappedUser
            self.cappedService = cappedService
        }
    }

    /// The forms of the last `allowed_fields` rendered. Every PII grant by a non-`pii_reader`
    /// needs both, and building them (an array of `JSONValue`s and a Python repr) was a sixth
    /// of such a grant; the registry hands out the same array storage for a capability
    /// until it is registered again, so the memo is keyed by that storage's identity (an
    /// equal list in another array is rebuilt, never mistaken: the memo keeps its array
    /// alive, so its address cannot be reused by another).
    private let allowedFieldsMemo = Mutex<AllowedFieldsForms?>(nil)

    func allowedFieldsForms(_ fields: [String]) -> AllowedFieldsForms {
        if let memo = allowedFieldsMemo.withLock({ $0 }), sharesStorage(memo.fields, fields) { return memo }
        let detail = pyListRepr(fields, prefix: "applied allowed_fields=")
        let pinnedStep = PolicyTraceStep(name: "sensitivity:allowed_fields", outcome: .constraintApplied, detail: detail)
        let constraint = JSONValue.array(fields.map(JSONValue.string))
        let keys = ["allowed_fields", "max_rows"]
        let forms = AllowedFieldsForms(
            fields: fields, constraint: constraint, steps: [pinnedStep] + Self.rowCapAndAllow,
            cappedUser: JSONObject(uniqueKeys: keys, values: [constraint, .int(Self.maxRowsUser)]),
            cappedService: JSONObject(uniqueKeys: keys, values: [constraint, .int(Self.maxRowsService)]))
        allowedFieldsMemo.withLock { $0 = forms }
        return forms
    }

    /// The last allowed decision of an unconstrained, unscoped request and what it was built
    /// from (`allowedDecision`).
    struct AllowedMemo: Sendable {
        let capabilityID: String
        let principalID: String
        let intent: String?
        let service: Bool
        let pinned: AllowedFieldsForms?
        let decision: PolicyDecision
    }

    private let allowedMemo = Mutex<AllowedMemo?>(nil)

    /// The allowed decision of a request without constraints or scope: its constraints and
    /// steps are then fixed by `service` and `pinned` (shared objects), and the rest of it is
    /// the capability, principal and intent. An agent's grants repeat one such request, so
    /// the last decision is kept and handed out again when those inputs are equal by code
    /// points (`PyString.equal`, never `String ==`: a canonically equivalent spelling would
    /// put other bytes in the trace); a decision is immutable (a setter builds a new box),
    /// so sharing it is unobservable. Building one was an allocation, ~12 references
    /// retained, and as many releases when the grant was dropped.
    func allowedDecision(capabilityID cid: String, principalID pid: String, intent: String?, service: Bool,
                         pinned: AllowedFieldsForms?) -> PolicyDecision {
        let hit = allowedMemo.withLock { m -> PolicyDecision? in
            guard let m, m.service == service, m.pinned === pinned, PyString.equal(m.capabilityID, cid),
                  PyString.equal(m.principalID, pid), Self.sameIntent(m.intent, intent) else { return nil }
            return m.decision
        }
        if let hit { return hit }
        let decision = PolicyDecision(
            allowedBy: engineName, reason: Self.allowReason,
            constraints: Self.plainConstraints(service: service, pinned: pinned),
            reasonCode: ReasonCode.defaultPolicyAllow, capabilityID: cid, principalID: pid, intent: intent,
            scopeKeys: [], steps: pinned?.steps ?? Self.rowCapAndAllow)
        allowedMemo.withLock {
            $0 = AllowedMemo(capabilityID: cid, principalID: pid, intent: intent, service: service, pinned: pinned,
                             decision: decision)
        }
        return decision
    }

    /// An unconstrained request's final constraints: one of the shared objects.
    static func plainConstraints(service: Bool, pinned: AllowedFieldsForms?) -> JSONObject {
        pinned.map { service ? $0.cappedService : $0.cappedUser } ?? (service ? cappedService : cappedUser)
    }

    /// Two intents equal by code points (both absent, or both present and equal).
    static func sameIntent(_ a: String?, _ b: String?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case (let a?, let b?): return PyString.equal(a, b)
        default: return false
        }
    }

    /// `str(request.scope.get("memory_scope", ""))`.
    static func memoryScope(_ request: CapabilityRequest) -> String {
        request.scope["memory_scope"]?.pyStr ?? ""
    }
}
