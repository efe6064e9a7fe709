/// The seam between the kernel and its audit trail: the in-memory `TraceStore` (the
/// reference's `TraceStore`) and durable stores such as CapgateStore's SQLite chain (the
/// reference's `SQLiteTraceStore`) both sit behind it, so the kernel never links a database.
///
/// `record` never throws: the kernel records on its hot path and a denial's trace is best
/// effort in the reference. A durable store instead reports a failed write through
/// `waitUntilDurable()`, which a caller that promises durability (the gateway answers a
/// traced verb only after its record is on disk, docs/audit.md) awaits before answering.
public protocol TraceStoring: Sendable {
    /// Appends `trace` (the in-memory store overwrites a re-recorded action id in place).
    /// Consuming: the caller's trace (built for this call) moves into the store instead of
    /// being retained there and released by the caller.
    func record(_ trace: consuming ActionTrace)
    /// The trace of `actionID`; `AgentKernelError("No action trace found ...")` with site
    /// `.traceNotFound` when absent.
    func get(_ actionID: String) throws(KernelError) -> ActionTrace
    /// Every retained trace in recording order (`list_all`).
    func list() -> [ActionTrace]
    /// Filter, order and paginate with `TraceQuery.apply(to:)` semantics.
    func query(_ q: TraceQuery) throws(KernelError) -> [ActionTrace]
    /// Returns once every record accepted so far is durable; throws when that can no longer
    /// happen (the store failed closed). Immediate for a store with nothing to make durable.
    func waitUntilDurable() async throws(KernelError)
    /// A position in the stream of accepted records, taken before a verb runs, for
    /// `waitUntilDurable(since:)`. The default (0) suits stores that never drop a record.
    func durabilityMark() -> Int
    /// `waitUntilDurable()`, and also throws if any record accepted after `mark` was dropped
    /// by a failed write, even when the store has recovered since: a store that resumes after
    /// a failure (disk full, then space again) must not let a caller whose record was lost
    /// in between believe it durable. The default calls `waitUntilDurable()`.
    func waitUntilDurable(since mark: Int) async throws(KernelError)
    /// A hint that a trace for `actionID` will be recorded soon (called once the id is drawn,
    /// before the verb's work): a store may start loading what that `record` will touch, so
    /// its cache misses overlap the verb instead of stalling the record. Changes nothing
    /// observable; the default does nothing.
    func willRecord(_ actionID: String)
}

extension TraceStoring {
    public func waitUntilDurable() async throws(KernelError) {}
    public func durabilityMark() -> Int { 0 }
    public func waitUntilDurable(since mark: Int) async throws(KernelError) { try await waitUntilDurable() }
    public func willRecord(_ actionID: String) {}
}

extension TraceStore: TraceStoring {}
