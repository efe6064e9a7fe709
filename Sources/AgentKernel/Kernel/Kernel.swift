/// The capability kernel: the reference's `Kernel` (docs/reference-semantics.md §3) as one thread-safe object.
///
/// Every collaborator is itself safe for concurrent use, so the gateway's event loops can
/// call one `Kernel` at once. The kernel holds no global state; time and ids are injected.
public final class Kernel: Sendable {
    public let registry: CapabilityRegistry
    public let policy: any PolicyEngine
    public let tokens: HMACTokenProvider
    public let router: StaticRouter
    public let firewall: Firewall
    public let handles: HandleStore
    public let traces: any TraceStoring
    public let budgets: BudgetSource
    /// Caps deny traces per principal (docs/audit.md); nil traces every denial (the reference).
    public let denialTraces: DenialTraceLimiter?
    public let stats: KernelStats
    public let clock: any KernelClock
    /// Whether `clock` is the real clock: then one read can serve two instants of one
    /// call (see `expand`), which no caller can tell apart; an injected clock is read
    /// exactly as the reference reads its clock, since a test or replay may count reads
    /// or step between them.
    let clockIsSystem: Bool
    public let ids: any IDGenerator
    private let driverTable: DriverTable

    /// Where invocations draw their output budget from (docs/reference-semantics.md §8.5, §12.3 item 4).
    public enum BudgetSource: Sendable {
        /// No budget accounting (the reference's default).
        case none
        /// One budget for every caller: the reference's one-`BudgetManager`-per-`Kernel`.
        case shared(BudgetManager)
        /// One budget per session id, so agents sharing a sidecar do not drain each other.
        case perSession(SessionBudgets)

        /// Where spends persist, when they do (only per-session budgets have a store).
        public var store: (any BudgetStoring)? {
            if case .perSession(let s) = self { return s.store }
            return nil
        }
    }

    public init(registry: CapabilityRegistry, policy: any PolicyEngine, tokens: HMACTokenProvider,
                router: StaticRouter = StaticRouter(), firewall: Firewall = Firewall(),
                handles: HandleStore, traces: any TraceStoring, budgets: BudgetSource = .none,
                denialTraces: DenialTraceLimiter? = nil,
                clock: any KernelClock = SystemClock(), ids: any IDGenerator = RandomUUIDGenerator()) {
        self.registry = registry
        self.policy = policy
        self.tokens = tokens
        self.router = router
        self.firewall = firewall
        self.handles = handles
        self.traces = traces
        self.budgets = budgets
        self.denialTraces = denialTraces
        self.stats = KernelStats()
        self.clock = clock
        self.clockIsSystem = clock is SystemClock
        self.ids = ids
        self.driverTable = DriverTable()
    }

    /// Registers a driver under its id; a later registration with the same id replaces it.
    public func registerDriver(_ driver: any Driver) { driverTable.register(driver) }

    /// The budget an invocation by `principalID` in `session` uses, if any. Throws when a
    /// persistent budget store cannot say what the session already spent.
    public func budget(principalID: String, session: String?) throws(KernelError) -> BudgetManager? {
        switch budgets {
        case .none: return nil
        case .shared(let m): return m
        case .perSession(let s): return try s.manager(for: session ?? principalID)
        }
    }

    // MARK: - Discovery (docs/reference-semantics.md §3.1, §3.2)

    /// Capabilities in registration order; no trace.
    public func listCapabilities() -> [Capability] { registry.list() }

    /// Ranked requests for a goal (BM25, at most 10); no policy, trace or stats.
    public func requestCapabilities(goal: String) -> [CapabilityRequest] {
        registry.search(goal, maxResults: 10, offset: 0)
    }

    // MARK: - Grants (docs/reference-semantics.md §3.3)

    /// Evaluates the policy and issues a signed token. A denial is counted, recorded as a
    /// `deny` trace (best effort) and rethrown; a success writes no trace.
    public func grantCapability(_ request: CapabilityRequest, principal: Principal,
                                justification: String) throws(KernelError) -> CapabilityGrant {
        let capability = try registry.get(request.capabilityID)
        let decision: PolicyDecision
        do {
            decision = try policy.evaluate(request, capability: capability, principal: principal,
                                           justification: justification)
        } catch {
            if error.kind == .policyDenied {
                stats.onDenial(reasonCode: error.reasonCode)
                recordDenial(request: request, principal: principal, error: error)
            }
            throw error
        }
        let auditID = ids.next()
        let token = tokens.issue(capabilityID: capability.capabilityID, principalID: principal.principalID,
                                 constraints: decision.constraints, auditID: auditID)
        stats.onGrant()
        return CapabilityGrant(request: request, principal: principal, decision: decision, token: token,
                               auditID: auditID)
    }

    /// `get_token`: the grant's token.
    public func getToken(_ request: CapabilityRequest, principal: Principal,
                         justification: String) throws(KernelError) -> CapabilityToken {
        try grantCapability(request, principal: principal, justification: justification).token
    }

    /// What the policy would decide and why; no side effects (docs/reference-semantics.md §3.8).
    public func explainDenial(_ request: CapabilityRequest, principal: Principal,
                              justification: String = "") throws(KernelError) -> DenialExplanation {
        let capability = try registry.get(request.capabilityID)
        guard let explanation = policy.explain(request, capability: capability, principal: principal,
                                               justification: justification) else {
            throw KernelError(.agentKernelError,
                              "Policy engine \(PyString.repr(policy.engineName)) does not implement explain(); "
                                  + "structured denial explanations are unavailable. Use DefaultPolicyEngine or "
                                  + "DeclarativePolicyEngine, or add an explain() method to your engine.")
        }
        return explanation
    }

    /// Past the principal's cap (`denialTraces`) the denial stands but is not traced; the
    /// next traced one reports how many were skipped.
    private func recordDenial(request: CapabilityRequest, principal: Principal, error: KernelError) {
        let now = clock.now()
        var summary: JSONObject?
        if let limiter = denialTraces {
            let admission = limiter.admit(principal.principalID, now: now)
            guard admission.trace else { return }
            if admission.suppressedBefore > 0 { summary = ["suppressed_denials": .int(admission.suppressedBefore)] }
        }
        traces.record(ActionTrace(
            actionID: ids.next(), capabilityID: request.capabilityID, principalID: principal.principalID,
            tokenID: "", invokedAt: now, args: [:], responseMode: .summary, driverID: "",
            error: Redaction.redactString(error.message), resultSummary: summary, sensitivity: .none, eventType: .deny,
            reasonCode: error.reasonCode))
    }

    // MARK: - Revocation (on the token provider in the reference; admin verbs here)

    public func revoke(tokenID: String) { tokens.revoke(tokenID: tokenID) }
    public func revokeAll(principalID: String) -> Int { tokens.revokeAll(principalID: principalID) }

    // MARK: - Audit (docs/reference-semantics.md §3.8, §10)

    /// The trace of an invoke, expand or deny action.
    public func explain(actionID: String) throws(KernelError) -> ActionTrace { try traces.get(actionID) }
    public func listTraces() -> [ActionTrace] { traces.list() }
    public func queryTraces(_ query: TraceQuery) throws(KernelError) -> [ActionTrace] { try traces.query(query) }
    public func statsSnapshot() -> StatsSnapshot { stats.snapshot() }
    public func resetStats() { stats.reset() }

    // MARK: - Shared helpers for the invoke/expand pipelines

    func driverMap() -> [String: any Driver] { driverTable.snapshot() }

    /// The arg names whose values a memory capability's trace blanks (`_MEMORY_SENSITIVE_ARG_KEYS`).
    static let memorySensitiveArgKeys = ["payload", "content", "value", "memory", "text", "body"]

    /// `_redact_args_for_trace`: memory capabilities blank their payload-like keys, then
    /// every arg goes through the firewall's redaction at the default depth of 3.
    ///
    /// The prefix and the key names compare by code points, as Python's `startswith` and set
    /// membership do. `String.hasPrefix` compares whole characters: `"memory.\u{301}x"` (a
    /// combining accent right after the dot) does not have the prefix `"memory."` for it, so
    /// its payload would have reached the audit trail unblanked.
    static func redactArgsForTrace(capabilityID: String, args: JSONObject) -> JSONObject {
        var args = args
        if hasMemoryPrefix(capabilityID) {
            var blanked = JSONObject()
            blanked.reserveCapacity(args.count)
            for (k, v) in args {
                let lowered = k.lowercased()
                let sensitive = memorySensitiveArgKeys.contains { lowered.utf8.elementsEqual($0.utf8) }
                blanked.appendUnchecked(k, sensitive ? .string("[REDACTED]") : v)
            }
            args = blanked
        }
        // Flat arguments with nothing to redact (the usual query or call arguments) are kept
        // as they are, without the walk.
        if Redaction.plainlyUnchanged(args, maxDepth: 3) { return args }
        var warnings: [String] = []  // a trace keeps no redaction warnings
        let redacted = Redaction.redact(.object(args), Redaction.AllowedFields([]), depth: 0, maxDepth: 3,
                                        warnings: &warnings)
        return redacted.objectValue ?? [:]
    }

    /// `capability_id.startswith("memory.")`, by code points (bytes of UTF-8): the generic
    /// `starts(with:)` over two UTF8Views walked both through protocol witnesses.
    static func hasMemoryPrefix(_ id: String) -> Bool {
        id.utf8.withContiguousStorageIfAvailable { b in
            // "memory."
            b.count >= 7 && b[0] == 0x6D && b[1] == 0x65 && b[2] == 0x6D && b[3] == 0x6F && b[4] == 0x72
                && b[5] == 0x79 && b[6] == 0x2E
        } ?? id.utf8.starts(with: "memory.".utf8)
    }

    /// `_frame_result_summary`, as a trace keeps it: a shared summary by its index (see
    /// `TraceSummary`), any other built afresh. One shared key list and one values array: no
    /// pairs array, no duplicate-key scans, no key array allocated per trace. The counts are
    /// read in place (`Frame.summaryCounts`).
    static func traceSummary(_ frame: Frame) -> TraceSummary {
        let c = frame.summaryCounts
        if let i = SharedResultSummaries.index(facts: c.facts, rows: c.rows, warnings: c.warnings,
                                               hasHandle: c.hasHandle) {
            return .shared(i)
        }
        return .own(makeResultSummary(facts: c.facts, rows: c.rows, warnings: c.warnings, hasHandle: c.hasHandle))
    }

    static func makeResultSummary(facts: Int, rows: Int, warnings: Int, hasHandle: Bool) -> JSONObject {
        JSONObject(uniqueKeys: resultSummaryKeys,
                   values: [.int(facts), .int(rows), .int(warnings), .bool(hasHandle)])
    }
    static let resultSummaryKeys = ["fact_count", "row_count", "warning_count", "has_handle"]
}

/// Result summaries built once for the usual frames (a summary's up to 20 facts and no rows,
/// or a table's up to 64 rows and no facts; at most one warning; with or without a handle),
/// shared by every trace that has them.
///
/// Why: every invoke and expand recorded a freshly allocated values array, freed again,
/// long out of the cache, when the trace store evicted the trace 10,000 records later. A
/// shared array is an immutable value (copy on write), so a trace holding it reads and
/// serializes exactly as one holding its own; other counts are built as before.
enum SharedResultSummaries {
    static let maxFacts = 20, maxRows = 64, maxWarnings = 1

    /// `[summaryHalf | tableHalf][warnings][hasHandle]`, flattened.
    private static let summaries: [JSONObject] = {
        var out: [JSONObject] = []
        for w in 0...maxWarnings {
            for h in [false, true] {
                for f in 0...maxFacts { out.append(Kernel.makeResultSummary(facts: f, rows: 0, warnings: w, hasHandle: h)) }
            }
        }
        return out
    }()
    private static let tables: [JSONObject] = {
        var out: [JSONObject] = []
        for w in 0...maxWarnings {
            for h in [false, true] {
                for r in 0...maxRows { out.append(Kernel.makeResultSummary(facts: 0, rows: r, warnings: w, hasHandle: h)) }
            }
        }
        return out
    }()

    /// The position of the shared summary with these counts: the summaries' list, then the
    /// tables' (`summary(at:)` reads it back); nil when none is shared.
    @inline(__always)
    static func index(facts: Int, rows: Int, warnings: Int, hasHandle: Bool) -> Int? {
        guard (0...maxWarnings).contains(warnings) else { return nil }
        let group = warnings * 2 + (hasHandle ? 1 : 0)
        if rows == 0, (0...maxFacts).contains(facts) { return group * (maxFacts + 1) + facts }
        if facts == 0, (0...maxRows).contains(rows) { return summaryCount + group * (maxRows + 1) + rows }
        return nil
    }

    /// The shared summary at `index(...)`'s position.
    static func summary(at i: Int) -> JSONObject {
        i < summaryCount ? summaries[i] : tables[i - summaryCount]
    }

    private static let summaryCount = (maxWarnings + 1) * 2 * (maxFacts + 1)
}

import Synchronization

/// The driver registry: id -> driver, replaced atomically.
final class DriverTable: Sendable {
    private let table = Mutex<[String: any Driver]>([:])
    func register(_ d: any Driver) { table.withLock { $0[d.driverID] = d } }
    func snapshot() -> [String: any Driver] { table.withLock { $0 } }
}
