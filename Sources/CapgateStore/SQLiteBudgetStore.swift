import AgentKernel

/// Durable budgets (docs/audit.md, "Budgets"): the kernel's `BudgetStoring` seam on the audit
/// database's `budget_spend(session, used)` table.
///
/// Why through the trace store: its one writer thread already group-commits, so a spend joins
/// the transaction that carries the trace of the invoke that made it (the kernel reports the
/// spend before it records that trace). Waiting for the invoke's trace therefore also waits for
/// its spend: the gateway never acknowledges an invoke whose spend a crash could lose. A failed
/// commit fails both closed together.
public struct SQLiteBudgetStore: BudgetStoring {
    public let audit: SQLiteTraceStore

    public init(audit: SQLiteTraceStore) { self.audit = audit }

    public func spent(session: String) throws(KernelError) -> Int {
        do {
            return try audit.spent(session: session)
        } catch {
            throw KernelError(.agentKernelError, "audit store read failed: \(error)")
        }
    }

    public func recordSpend(session: String, used: Int) { audit.enqueueSpend(session: session, used: used) }

    public func waitUntilDurable() async throws(KernelError) { try await audit.waitUntilDurable() }

    /// The audit store's: spends and traces share one stream of generations.
    public func durabilityMark() -> Int { audit.durabilityMark() }

    public func waitUntilDurable(since mark: Int) async throws(KernelError) {
        try await audit.waitUntilDurable(since: mark)
    }
}
