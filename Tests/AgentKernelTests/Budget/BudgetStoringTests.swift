import Synchronization
import Testing
@testable import AgentKernel

/// The `BudgetStoring` seam: what a persistent store sees and how a session resumes from it.
@Suite struct BudgetStoringTests {
    /// Keeps the maximum total per session, like a real store; can be told to fail reads.
    final class FakeStore: BudgetStoring {
        let totals = Mutex<[String: Int]>([:])
        let reports = Mutex<[(String, Int)]>([])
        let failReads = Atomic<Bool>(false)
        func spent(session: String) throws(KernelError) -> Int {
            if failReads.load(ordering: .relaxed) { throw KernelError(.agentKernelError, "store down") }
            return totals.withLock { $0[session] ?? 0 }
        }
        func recordSpend(session: String, used: Int) {
            reports.withLock { $0.append((session, used)) }
            totals.withLock { $0[session] = max($0[session] ?? 0, used) }
        }
    }

    @Test func inMemoryStorePersistsNothing() throws {
        let store = InMemoryBudgetStore()
        store.recordSpend(session: "a", used: 50)
        #expect(try store.spent(session: "a") == 0)
    }

    @Test func recordUsageReportsTheNewTotalNeverAReservation() throws {
        let store = FakeStore()
        let s = try SessionBudgets(totalBudget: 100, defaultRequest: 30, store: store)
        let m = try s.manager(for: "agent-a")
        let r = try m.allocate()
        #expect(store.reports.withLock { $0.isEmpty })  // a reservation is not a spend
        try m.recordUsage(12, reserved: r)
        try m.recordUsage(200)  // capped at the total
        #expect(store.reports.withLock { $0.map(\.1) } == [12, 100])
        #expect(store.reports.withLock { $0.allSatisfy { $0.0 == "agent-a" } })
    }

    @Test func aRecreatedSessionResumesItsSpend() throws {
        let store = FakeStore()
        let s = try SessionBudgets(totalBudget: 100, defaultRequest: 10, maxSessions: 1, store: store)
        try s.manager(for: "a").recordUsage(40)
        _ = try s.manager(for: "b")  // evicts a
        let again = try s.manager(for: "a")
        #expect(again.used == 40 && again.remaining == 60)
        // A "restart": a new table over the same store.
        let restarted = try SessionBudgets(totalBudget: 100, defaultRequest: 10, store: store)
        #expect(try restarted.manager(for: "a").remaining == 60)
        #expect(try restarted.manager(for: "never-spent").remaining == 100)
        // A stored total above a lowered budget is capped, not negative.
        let smaller = try SessionBudgets(totalBudget: 30, defaultRequest: 10, store: store)
        #expect(try smaller.manager(for: "a").remaining == 0)
        #expect(throws: KernelError.self) { try smaller.manager(for: "a").allocate() }
    }

    @Test func anUnreadableSpendFailsTheCallAndCachesNothing() throws {
        let store = FakeStore()
        store.recordSpend(session: "a", used: 70)
        let s = try SessionBudgets(totalBudget: 100, defaultRequest: 10, store: store)
        store.failReads.store(true, ordering: .relaxed)
        #expect(throws: KernelError(.agentKernelError, "store down")) { try s.manager(for: "a") }
        #expect(s.count == 0)  // never a fresh, full budget in its place
        store.failReads.store(false, ordering: .relaxed)
        #expect(try s.manager(for: "a").remaining == 30)
    }

    @Test func aLiveSessionIsNotReadAgain() throws {
        let store = FakeStore()
        let s = try SessionBudgets(totalBudget: 100, defaultRequest: 10, store: store)
        let m = try s.manager(for: "a")
        store.failReads.store(true, ordering: .relaxed)
        #expect(try s.manager(for: "a") === m)
    }

    @Test func theKernelExposesTheStoreOnlyForPerSessionBudgets() throws {
        let store = FakeStore()
        #expect(Kernel.BudgetSource.perSession(try SessionBudgets(store: store)).store is FakeStore)
        #expect(Kernel.BudgetSource.shared(try BudgetManager()).store == nil)
        #expect(Kernel.BudgetSource.none.store == nil)
    }
}
