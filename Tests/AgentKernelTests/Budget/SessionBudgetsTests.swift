import Testing
@testable import AgentKernel

/// Per-session budgets (docs/reference-semantics.md §12.3 item 4): isolation, LRU bound, code point identity.
@Suite struct SessionBudgetsTests {
    @Test func sessionsAreIsolatedAndStable() throws {
        let s = try SessionBudgets(totalBudget: 100, defaultRequest: 10)
        let a = try s.manager(for: "agent-a")
        _ = try a.allocate()
        #expect(try s.manager(for: "agent-a") === a)
        #expect(try s.manager(for: "agent-a").remaining == 90)
        #expect(try s.manager(for: "agent-b").remaining == 100)
    }

    @Test func leastRecentlyUsedSessionIsEvicted() throws {
        let s = try SessionBudgets(maxSessions: 2)
        let a = try s.manager(for: "a")
        _ = try s.manager(for: "b")
        _ = try s.manager(for: "a")        // a is now more recent than b
        _ = try s.manager(for: "c")        // evicts b
        #expect(s.count == 2)
        #expect(try s.manager(for: "a") === a)
        _ = try s.manager(for: "b")        // b comes back fresh, evicting c (LRU after a's touch)
        #expect(try s.count == 2 && s.manager(for: "a") === a)
    }

    @Test func canonicallyEquivalentIdsAreDistinctSessions() throws {
        let s = try SessionBudgets()
        #expect(try s.manager(for: "caf\u{E9}") !== s.manager(for: "cafe\u{301}"))
        #expect(s.count == 2)
    }

    @Test func boundedUnderManySessions() throws {
        let s = try SessionBudgets(maxSessions: 50)
        for i in 0..<5000 { _ = try s.manager(for: "s\(i % 700)") }
        #expect(s.count == 50)
    }

    @Test func invalidConfigurationIsRejected() {
        #expect(throws: KernelError(.budgetConfigError, "total_budget must be positive")) { try SessionBudgets(totalBudget: 0) }
        #expect(throws: KernelError(.budgetConfigError, "max_sessions must be positive")) { try SessionBudgets(maxSessions: 0) }
    }
}
