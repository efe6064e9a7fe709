import Synchronization

/// Cross-invocation token budget for one session (docs/reference-semantics.md §8.5, `budget_manager.py`).
///
/// The kernel reserves a slice before running a driver (`allocate`), reconciles the
/// real cost after the firewall (`recordUsage`) or returns the slice on failure
/// (`release`), and asks `suggestedMode` to tighten the response mode as the budget
/// drains. The reference serialises mutations with an asyncio lock; here a `Mutex`
/// makes each operation atomic across threads (no async needed: nothing blocks).
public final class BudgetManager: Sendable {
    private struct State {
        var used = 0
        var reserved = 0
    }

    /// The configured total (`total_budget`).
    public let total: Int
    /// Reserved by `allocate()` when no amount is given.
    public let defaultRequest: Int
    private let state: Mutex<State>
    /// Where `recordUsage` reports the new total, when the session's spends persist.
    private let sink: (store: any BudgetStoring, session: String)?

    /// `BudgetManager(total_budget, default_request)`: both must be positive.
    public convenience init(totalBudget: Int = 100_000, defaultRequest: Int = 4000) throws(KernelError) {
        try self.init(totalBudget: totalBudget, defaultRequest: defaultRequest, spent: 0, store: nil, session: "")
    }

    /// A manager resuming a persisted session: `spent` tokens are already used (capped at the
    /// total) and every later `recordUsage` reports the new total to `store` under `session`.
    public init(totalBudget: Int, defaultRequest: Int, spent: Int, store: (any BudgetStoring)?,
                session: String) throws(KernelError) {
        if totalBudget <= 0 { throw KernelError(.budgetConfigError, "total_budget must be positive") }
        if defaultRequest <= 0 { throw KernelError(.budgetConfigError, "default_request must be positive") }
        self.total = totalBudget
        self.defaultRequest = defaultRequest
        self.state = Mutex(State(used: min(totalBudget, max(0, spent))))
        self.sink = store.map { ($0, session) }
    }

    private static func remaining(_ s: State, _ total: Int) -> Int { max(0, total - s.used - s.reserved) }

    /// `max(0, total - used - reserved)`: reservations count, so two concurrent
    /// allocations cannot both claim the same slice.
    public var remaining: Int { state.withLock { Self.remaining($0, total) } }

    /// Tokens committed through `recordUsage`.
    public var used: Int { state.withLock { $0.used } }

    /// `min(1, used / total)`; reservations are not counted.
    public var usageFraction: Double { state.withLock { min(1.0, Double($0.used) / Double(total)) } }

    /// Reserves `min(requested ?? defaultRequest, remaining)` and returns it.
    /// Throws BudgetExhausted when nothing remains (before any driver runs), and
    /// BudgetConfigError for a negative request.
    public func allocate(_ requested: Int? = nil) throws(KernelError) -> Int {
        if let r = requested, r < 0 { throw KernelError(.budgetConfigError, "requested must be non-negative") }
        let total = self.total
        let want = requested ?? defaultRequest
        let result: Result<Int, KernelError> = state.withLock { s in
            let left = Self.remaining(s, total)
            if left <= 0 {
                return .failure(KernelError(.budgetExhausted,
                    "Session budget exhausted: used \(s.used) of \(total) tokens (no budget remaining)."))
            }
            let granted = min(want, left)
            s.reserved += granted
            return .success(granted)
        }
        return try result.get()
    }

    /// Reconciles an invocation: the reservation drops by `reserved` (floored at 0)
    /// and `used` grows by `actual`, capped at the total.
    public func recordUsage(_ actual: Int, reserved: Int? = nil) throws(KernelError) {
        if actual < 0 { throw KernelError(.budgetConfigError, "actual must be non-negative") }
        if let r = reserved, r < 0 { throw KernelError(.budgetConfigError, "reserved must be non-negative") }
        let total = self.total
        let used: Int = state.withLock { s in
            if let r = reserved { s.reserved = max(0, s.reserved - r) }
            s.used = min(total, s.used &+ actual)
            return s.used
        }
        // Outside the lock: the store only queues, and keeps the maximum if two reports cross.
        if let sink { sink.store.recordSpend(session: sink.session, used: used) }
    }

    /// Returns a reservation without recording usage (the invocation failed).
    /// A negative amount is ignored: the reference raises BudgetConfigError there, but
    /// release runs in cleanup paths where throwing would mask the original error.
    public func release(_ n: Int) {
        guard n >= 0 else { return }
        state.withLock { $0.reserved = max(0, $0.reserved - n) }
    }

    /// `release` with the reference's validation.
    public func releaseChecked(_ n: Int) throws(KernelError) {
        if n < 0 { throw KernelError(.budgetConfigError, "reserved must be non-negative") }
        release(n)
    }

    /// Tokens the default counter charges for a Frame payload (`count_tokens`).
    public func countTokens(_ v: JSONValue) -> Int { SizeEstimate.defaultTokenCount(v) }

    /// The mode to use given the remaining fraction `f = remaining / total`
    /// (reservations included): `< 0.05` handle_only; `<= 0.20` at least summary;
    /// `<= 0.50` raw becomes table; otherwise as requested. Never relaxes a stricter
    /// request. An unknown mode is returned unchanged, except in the `<= 0.20` tier
    /// where the reference raises KeyError and this returns summary (fail closed).
    public func suggestedMode(_ m: ResponseMode) -> ResponseMode {
        let f = Double(remaining) / Double(total)
        if f < 0.05 { return .handleOnly }
        if f <= 0.20 {
            guard let rank = m.strictness else { return .summary }
            return rank >= 2 ? m : .summary
        }
        if f <= 0.50 {
            if case .raw = m { return .table }
            return m
        }
        return m
    }
}
