import AgentKernel
import CSQLiteFaults
import CapgateStore
import CapgateTesting
import Foundation
import Testing

/// A failed commit (SQLITE_FULL injected by Sources/CSQLiteFaults) drops what was not on disk,
/// resumes the chain from the last durable record, and never lets a wait that began before
/// the loss succeed (docs/audit.md, "Fail closed").
@Suite(.timeLimit(.minutes(1)))
struct SQLiteTraceStoreFailureTests {
    @Test func aLossFailsEveryWaitMarkedBeforeItAndTheChainResumes() async throws {
        #expect(capgate_sqlite_faults_install() == 0)
        let dir = try makeTempDirectory("audit-full")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        defer { capgate_sqlite_faults_heal(dir) }
        let path = dir + "/audit.db"
        let store = try SQLiteTraceStore(path: path, secret: SQLiteTraceStoreTests.secret)
        let budgets = SQLiteBudgetStore(audit: store)
        let kept = SQLiteTraceStoreTests.trace(0)
        store.record(kept)
        budgets.recordSpend(session: "alice", used: 10)
        try await store.waitUntilDurable()

        let mark = store.durabilityMark()
        #expect(capgate_sqlite_faults_fail_writes(dir) == 0)
        store.record(SQLiteTraceStoreTests.trace(1))
        budgets.recordSpend(session: "alice", used: 99)
        await #expect(throws: KernelError.self) { try await store.waitUntilDurable(since: mark) }
        // The two may have gone in two batches: let the second fail too before looking.
        for _ in 0..<200 where store.backlog > 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(store.backlog == 0)
        #expect(store.list() == [kept])  // the lost record is not shown as if kept
        #expect(try budgets.spent(session: "alice") == 10)

        capgate_sqlite_faults_heal(dir)
        let fresh = store.durabilityMark()
        let resumed = SQLiteTraceStoreTests.trace(2)
        store.record(resumed)
        try await store.waitUntilDurable(since: fresh)
        // A caller whose record may have been the lost one never hears "durable".
        await #expect(throws: KernelError.self) { try await store.waitUntilDurable(since: mark) }
        await #expect(throws: KernelError.self) { try await budgets.waitUntilDurable(since: mark) }
        store.close()

        let reader = try AuditFileReader(path: path)
        let v = try reader.verify(secret: SQLiteTraceStoreTests.secret)
        #expect(v.ok && v.recordsChecked == 2, "\(v)")
        #expect(try reader.traces() == [kept, resumed])
    }
}
