import Testing
@testable import AgentKernel

/// BudgetManager (docs/reference-semantics.md §8.5). Expectations from the reference, e.g.
/// python -c "import asyncio; from weaver_kernel.firewall.budget_manager import BudgetManager as B
///   async def m(u): b=B(total_budget=100, default_request=10); await b.record_usage(u);
///     return [b.suggested_mode(x) for x in ['raw','table','summary','handle_only']]
///   print(asyncio.run(m(50)))"  -> ['table', 'table', 'summary', 'handle_only']
@Suite struct BudgetManagerTests {
    static let modes: [ResponseMode] = [.raw, .table, .summary, .handleOnly]
    /// used -> suggested modes for raw/table/summary/handle_only (total 100).
    static let table: [(Int, [ResponseMode])] = [
        (0, [.raw, .table, .summary, .handleOnly]),
        (49, [.raw, .table, .summary, .handleOnly]),
        (50, [.table, .table, .summary, .handleOnly]),
        (51, [.table, .table, .summary, .handleOnly]),
        (79, [.table, .table, .summary, .handleOnly]),
        (80, [.summary, .summary, .summary, .handleOnly]),
        (81, [.summary, .summary, .summary, .handleOnly]),
        (94, [.summary, .summary, .summary, .handleOnly]),
        (95, [.summary, .summary, .summary, .handleOnly]),
        (96, [.handleOnly, .handleOnly, .handleOnly, .handleOnly]),
        (100, [.handleOnly, .handleOnly, .handleOnly, .handleOnly]),
    ]

    @Test(arguments: table.indices)
    func suggestedModeTiers(_ i: Int) throws {
        let (used, expected) = Self.table[i]
        let b = try BudgetManager(totalBudget: 100, defaultRequest: 10)
        try b.recordUsage(used)
        #expect(Self.modes.map(b.suggestedMode) == expected)
        #expect(b.usageFraction == Double(used) / 100)
    }

    @Test func reservationsCountTowardsRemaining() throws {
        let b = try BudgetManager(totalBudget: 100, defaultRequest: 30)
        #expect(try [b.allocate(), b.allocate(), b.allocate(), b.allocate(0)] == [30, 30, 30, 0])
        #expect(b.remaining == 10)
        #expect(try b.allocate() == 10)  // capped at what is left
        #expect(throws: KernelError(.budgetExhausted, "Session budget exhausted: used 0 of 100 tokens (no budget remaining).")) {
            try b.allocate()
        }
        try b.recordUsage(500, reserved: 30)  // used is capped at the total
        #expect(b.used == 100 && b.remaining == 0)
        b.release(1000)  // floored at zero
        #expect(b.remaining == 0)
        #expect(throws: KernelError(.budgetExhausted, "Session budget exhausted: used 100 of 100 tokens (no budget remaining).")) {
            try b.allocate()
        }
    }

    @Test func releaseReturnsTheSlice() throws {
        let b = try BudgetManager(totalBudget: 100, defaultRequest: 40)
        let r = try b.allocate()
        #expect(b.remaining == 60)
        b.release(r)
        #expect(b.remaining == 100 && b.used == 0)
    }

    @Test func configurationAndNegativeAmountsAreRejected() throws {
        #expect(throws: KernelError(.budgetConfigError, "total_budget must be positive")) { try BudgetManager(totalBudget: 0) }
        #expect(throws: KernelError(.budgetConfigError, "default_request must be positive")) {
            try BudgetManager(defaultRequest: -1)
        }
        let b = try BudgetManager()
        #expect(throws: KernelError(.budgetConfigError, "requested must be non-negative")) { try b.allocate(-1) }
        #expect(throws: KernelError(.budgetConfigError, "actual must be non-negative")) { try b.recordUsage(-1) }
        #expect(throws: KernelError(.budgetConfigError, "reserved must be non-negative")) { try b.recordUsage(1, reserved: -2) }
        #expect(throws: KernelError(.budgetConfigError, "reserved must be non-negative")) { try b.releaseChecked(-1) }
    }

    @Test func unknownModeFailsClosedOnlyWhereTheReferenceWouldRaise() throws {
        let b = try BudgetManager(totalBudget: 100)
        #expect(b.suggestedMode(.other("zip")) == .other("zip"))
        try b.recordUsage(85)
        #expect(b.suggestedMode(.other("zip")) == .summary)
    }

    @Test func concurrentAllocationsNeverOvercommit() async throws {
        let b = try BudgetManager(totalBudget: 10_000, defaultRequest: 7)
        let granted = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var sum = 0
                    for _ in 0..<400 { sum += (try? b.allocate()) ?? 0 }
                    return sum
                }
            }
            var total = 0
            for await n in group { total += n }
            return total
        }
        // 3200 requests of 7 would be 22400: exactly the total can be reserved, no more.
        #expect(granted == 10_000)
        #expect(b.remaining == 0)
    }
}
