import AgentKernel
import CSQLite
import CapgateStore
import CapgateTesting
import Foundation
import Testing

/// Durable budgets (docs/audit.md, "Budgets"): spends ride the audit store's group commit.
@Suite(.timeLimit(.minutes(1)))
struct SQLiteBudgetStoreTests {
    static let secret = SQLiteTraceStoreTests.secret

    @Test func spendsSurviveAReopenAndOnlyEverGrow() async throws {
        let dir = try makeTempDirectory("budget")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/audit.db"
        do {
            let audit = try SQLiteTraceStore(path: path, secret: Self.secret)
            let store = SQLiteBudgetStore(audit: audit)
            let budgets = try SessionBudgets(totalBudget: 1000, defaultRequest: 100, store: store)
            let alice = try budgets.manager(for: "alice")
            let r = try alice.allocate()
            try alice.recordUsage(120, reserved: r)
            #expect(try store.spent(session: "alice") == 120)  // queued counts before the commit
            store.recordSpend(session: "alice", used: 50)       // a crossed, older report
            audit.record(SQLiteTraceStoreTests.trace(1))
            try await store.waitUntilDurable()
            #expect(try store.spent(session: "alice") == 120)
            try budgets.manager(for: "bob").recordUsage(7)
            try await store.waitUntilDurable()
            audit.close()
        }
        let audit = try SQLiteTraceStore(path: path, secret: Self.secret)
        defer { audit.close() }
        let budgets = try SessionBudgets(totalBudget: 1000, defaultRequest: 100, store: SQLiteBudgetStore(audit: audit))
        #expect(try budgets.manager(for: "alice").remaining == 880)
        #expect(try budgets.manager(for: "bob").remaining == 993)
        #expect(try budgets.manager(for: "carol").remaining == 1000)
        #expect(audit.list().count == 1)
    }

    @Test func theSpendCommitsWithTheTraceRecordedAfterIt() async throws {
        let dir = try makeTempDirectory("budget")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/audit.db"
        let audit = try SQLiteTraceStore(path: path, secret: Self.secret)
        defer { audit.close() }
        let store = SQLiteBudgetStore(audit: audit)
        // As the kernel does: the spend first, then the invoke's trace; one wait covers both.
        store.recordSpend(session: "alice", used: 42)
        audit.record(SQLiteTraceStoreTests.trace(2))
        try await audit.waitUntilDurable()
        #expect(audit.backlog == 0)
        var db: OpaquePointer?
        #expect(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, nil) == SQLITE_OK)
        defer { sqlite3_close_v2(db) }
        var stmt: OpaquePointer?
        #expect(sqlite3_prepare_v2(db, "SELECT used FROM budget_spend WHERE session = 'alice'", -1, &stmt, nil) == SQLITE_OK)
        defer { sqlite3_finalize(stmt) }
        #expect(sqlite3_step(stmt) == SQLITE_ROW)
        #expect(sqlite3_column_int64(stmt, 0) == 42)
    }

    @Test func theReferenceCLIStillVerifiesAFileWithSpends() async throws {
        let dir = try makeTempDirectory("budget")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/audit.db"
        let audit = try SQLiteTraceStore(path: path, secret: Self.secret)
        let store = SQLiteBudgetStore(audit: audit)
        for i in 0..<5 {
            store.recordSpend(session: "s\(i % 2)", used: i * 10)
            audit.record(SQLiteTraceStoreTests.trace(i))
        }
        try await audit.waitUntilDurable()
        audit.close()
        let verify = try await SQLiteTraceStoreTests.reference(["audit", "verify", "--store", path, "--format", "sqlite",
                                                                "--secret", Self.secret])
        #expect(verify.status == 0 && verify.stdout.hasPrefix("OK: Verified 5"), "\(verify.stdout) \(verify.stderr)")
    }
}

