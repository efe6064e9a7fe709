/// The seam between per-session budgets and where their spends persist (docs/audit.md,
/// "Budgets"), like `TraceStoring` for traces: the kernel never links a database.
///
/// What persists is each session's `used` total (tokens reconciled by `recordUsage`), never
/// a reservation: a reservation belongs to an invocation in flight, and a restart ends every
/// invocation. A store therefore keeps one number per session.
///
/// Contract for an implementation:
/// - `spent(session:)` is called when a session's manager is created (first use, and again
///   after the session was evicted from the bounded in-memory table), outside any budget lock.
///   It must include spends recorded but not yet durable. Throwing fails that invocation
///   (fail closed: a session whose spend cannot be read is never given a fresh budget).
/// - `recordSpend(session:used:)` is called after every `recordUsage` with the session's new
///   total, on the kernel's hot path: it must not block on disk (queue it). Totals only grow,
///   but two concurrent spends of one session may arrive out of order, so the store keeps the
///   maximum it has seen for the session.
/// - `waitUntilDurable(since:)` returns once every spend recorded so far is durable, and throws
///   when that can no longer happen or when a spend recorded after the mark (taken with
///   `durabilityMark()` before the verb ran) was lost. The gateway awaits it (with the trace
///   store's) before it answers an invoke, so an acknowledged spend survives any crash.
///
/// `InMemoryBudgetStore` (the default) persists nothing: budgets behave exactly as in the
/// reference, resetting on restart and when a session is evicted.
public protocol BudgetStoring: Sendable {
    /// Tokens `session` has spent so far; 0 when it never spent.
    func spent(session: String) throws(KernelError) -> Int
    /// `session` has now spent `used` tokens in total (keep the maximum seen).
    func recordSpend(session: String, used: Int)
    /// Returns once every spend recorded so far is durable; throws if that can no longer happen.
    func waitUntilDurable() async throws(KernelError)
    /// A position in the stream of recorded spends, taken before a verb runs (as
    /// `TraceStoring.durabilityMark`); the default 0 suits stores that never drop a spend.
    func durabilityMark() -> Int
    /// `waitUntilDurable()`, and also throws if a spend recorded after `mark` was dropped by
    /// a failed write, even if the store has recovered since. Default: `waitUntilDurable()`.
    func waitUntilDurable(since mark: Int) async throws(KernelError)
}

extension BudgetStoring {
    public func waitUntilDurable() async throws(KernelError) {}
    public func durabilityMark() -> Int { 0 }
    public func waitUntilDurable(since mark: Int) async throws(KernelError) { try await waitUntilDurable() }
}

/// Persists nothing: today's (and the reference's) budgets, lost on restart.
public struct InMemoryBudgetStore: BudgetStoring {
    public init() {}
    public func spent(session: String) throws(KernelError) -> Int { 0 }
    public func recordSpend(session: String, used: Int) {}
}
