import AgentKernel
import CapgatePostgres
import CapgateTesting
import Foundation
import Testing

/// Two stores on one database stand for two sidecars: a revocation through one is seen by
/// the other within the fleet's bound, revoke_all covers tokens issued through either, and
/// an unreachable server makes both unavailable until they reconnected and reconciled.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct PostgresSharedStoreTests {
    static func stores(_ cluster: PostgresCluster) async throws -> (PostgresSharedStore, PostgresSharedStore) {
        let db = try await cluster.createDatabase()
        let s = try PostgresConnectionTests.settings(cluster, db)
        _ = try await runBlocking { try PostgresSchema.migrate(try PostgresConnection(s)) }
        let a = PostgresSharedStore(settings: s), b = PostgresSharedStore(settings: s)
        let up = try await runBlocking { a.waitUntilAvailable(timeout: .seconds(10)) && b.waitUntilAvailable(timeout: .seconds(10)) }
        #expect(up)
        return (a, b)
    }

    static func eventually(within: Duration, _ check: () -> Bool) async throws -> Bool {
        let clock = ContinuousClock(), deadline = clock.now + within
        while clock.now < deadline {
            if check() { return true }
            try await Task.sleep(for: .milliseconds(5))
        }
        return check()
    }

    @Test func aRevocationOnOneIsSeenByTheOtherWithinTheBound() async throws {
        let cluster = try await PostgresCluster.shared()
        let (a, b) = try await Self.stores(cluster)
        defer { a.close(); b.close() }
        let exp = SystemClock().now().adding(seconds: 3600)
        for i in 0..<20 {
            a.track(principalID: "alice", tokenID: "t\(i)", expiresAt: exp)
            try await a.waitUntilShared()
            #expect(!b.isRevoked("t\(i)"))
            try await a.revokeShared("t\(i)")
            let start = ContinuousClock.now
            #expect(a.isRevoked("t\(i)"))
            let seen = try await Self.eventually(within: .seconds(1)) { b.isRevoked("t\(i)") }
            #expect(seen, "t\(i) not revoked on B \(ContinuousClock.now - start) after A's revoke returned")
        }
    }

    @Test func revokeAllCoversTokensIssuedThroughEitherStore() async throws {
        let cluster = try await PostgresCluster.shared()
        let (a, b) = try await Self.stores(cluster)
        defer { a.close(); b.close() }
        let exp = SystemClock().now().adding(seconds: 3600)
        a.track(principalID: "alice", tokenID: "a1", expiresAt: exp)
        b.track(principalID: "alice", tokenID: "b1", expiresAt: exp)
        a.track(principalID: "bob", tokenID: "bob1", expiresAt: exp)
        try await a.waitUntilShared()
        try await b.waitUntilShared()
        #expect(try await b.revokeAllShared(principalID: "alice") == 2)
        #expect(b.isRevoked("a1") && b.isRevoked("b1") && !b.isRevoked("bob1"))
        #expect(try await Self.eventually(within: .seconds(1)) { a.isRevoked("a1") && a.isRevoked("b1") })
        #expect(!a.isRevoked("bob1"))
        // The index is forgotten: a second revoke_all finds nothing new; later tokens stay valid.
        #expect(try await a.revokeAllShared(principalID: "alice") == 0)
        a.track(principalID: "alice", tokenID: "a2", expiresAt: exp)
        try await a.waitUntilShared()
        try await Task.sleep(for: .milliseconds(100))
        #expect(!a.isRevoked("a2") && !b.isRevoked("a2"))
    }

    /// Budgets through the kernel's own managers: spends on both sides add up (each sidecar
    /// raises only its own row), and a session's manager on B restarts from the fleet's total
    /// once A spent in it.
    @Test func spendsThroughEitherStoreAddUpAndExhaustTheSharedBudget() async throws {
        let cluster = try await PostgresCluster.shared()
        let (a, b) = try await Self.stores(cluster)
        defer { a.close(); b.close() }
        let budgetsA = try SessionBudgets(totalBudget: 100, defaultRequest: 10, store: a)
        let budgetsB = try SessionBudgets(totalBudget: 100, defaultRequest: 10, store: b)
        a.setRemoteSpendHandler { [weak budgetsA] s in budgetsA?.forget(s) }
        b.setRemoteSpendHandler { [weak budgetsB] s in budgetsB?.forget(s) }
        func spend(_ s: SessionBudgets, _ store: PostgresSharedStore, _ n: Int) async throws {
            let m = try s.manager(for: "alice")
            let r = try m.allocate(n)
            try m.recordUsage(n, reserved: r)
            try await store.waitUntilDurable()
        }
        try await spend(budgetsB, b, 5)  // B's manager exists before A spends
        for _ in 0..<6 { try await spend(budgetsA, a, 10) }
        try await spend(budgetsB, b, 5)
        #expect(try await Self.eventually(within: .seconds(1)) {
            (try? budgetsB.manager(for: "alice").used) == 70 && (try? budgetsA.manager(for: "alice").used) == 70
        })
        for _ in 0..<3 { try await spend(budgetsA, a, 10) }
        #expect(try await Self.eventually(within: .seconds(1)) { (try? budgetsB.manager(for: "alice").remaining) == 0 })
        #expect(throws: KernelError.self) { _ = try budgetsB.manager(for: "alice").allocate(1) }
        // In PostgreSQL: one row per sidecar, summing to the total.
        #expect(try await Self.spendRows(cluster, a, "alice") == "100|2")
    }

    /// `sum(used)|count(*)` of a session's rows in `capgate_budget_spends`.
    static func spendRows(_ cluster: PostgresCluster, _ store: PostgresSharedStore, _ session: String) async throws -> String {
        let db = try #require(store.settings.dsn.split(separator: " ").first { $0.hasPrefix("dbname=") }.map { String($0.dropFirst(7)) })
        return try await cluster.psql("SELECT sum(used), count(*) FROM capgate_budget_spends WHERE session = '\(session)'",
                                      database: db).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A run that closes cleanly moves its rows into each session's `retired` row: sums are
    /// unchanged, a session keeps one row per live run plus one however often sidecars restart,
    /// and a live sidecar's copy does not count the closed run twice (its old row and the
    /// retired row).
    @Test func aCleanCloseRetiresItsRowsWithoutChangingTheSums() async throws {
        let cluster = try await PostgresCluster.shared()
        let (a, b) = try await Self.stores(cluster)
        defer { b.close() }
        func spend(_ store: PostgresSharedStore, _ session: String, _ n: Int) async throws {
            let budgets = try SessionBudgets(totalBudget: 1000, defaultRequest: 10, store: store)
            let m = try budgets.manager(for: session)
            try m.recordUsage(n, reserved: try m.allocate(n))
            try await store.waitUntilDurable()
        }
        try await spend(a, "alice", 30)
        try await spend(a, "bob", 10)
        try await spend(b, "alice", 20)
        #expect(try await Self.eventually(within: .seconds(2)) { (try? b.spent(session: "alice")) == 50 })
        a.close()
        #expect(try await Self.spendRows(cluster, b, "alice") == "50|2")
        #expect(try await Self.spendRows(cluster, b, "bob") == "10|1")
        // Each restart adds a run's row while it runs and folds it when it closes.
        for (i, n) in [5, 7, 11].enumerated() {
            let c = PostgresSharedStore(settings: b.settings)
            #expect(try await runBlocking { c.waitUntilAvailable(timeout: .seconds(10)) })
            let before = 50 + [0, 5, 12][i]
            #expect(try c.spent(session: "alice") == before, "a new run starts from the fleet's total")
            try await spend(c, "alice", n)
            // B learns C's spend by the session's notification, which re-reads the session.
            #expect(try await Self.eventually(within: .seconds(2)) { (try? b.spent(session: "alice")) == before + n })
            c.close()
            let rows = try await Self.spendRows(cluster, b, "alice")
            #expect(rows == "\(before + n)|2", "round \(i): \(rows)")
        }
        // After the closes' notifications B still counts each spend once.
        try await Task.sleep(for: .milliseconds(300))
        #expect(try b.spent(session: "alice") == 73)
        #expect(try b.spent(session: "bob") == 10)
    }

    /// After `close`, nothing reports a write that was not made: a shared revoke throws, and so
    /// does waiting for a spend recorded after the close (it would otherwise read the last
    /// accepted write's success).
    @Test func writesAfterCloseReportThatTheyWereNotShared() async throws {
        let cluster = try await PostgresCluster.shared()
        let (a, b) = try await Self.stores(cluster)
        defer { b.close() }
        try await a.revokeShared("before")
        try await a.waitUntilShared()
        a.close()
        await #expect(throws: PostgresError.self) { try await a.revokeShared("after") }
        #expect(a.isRevoked("after"), "still refused locally (fail closed)")
        a.recordSpend(session: "alice", used: 5)
        await #expect(throws: KernelError.self) { try await a.waitUntilDurable() }
        await #expect(throws: PostgresError.self) { try await a.revokeAllShared(principalID: "alice") }
        #expect(try await Self.eventually(within: .seconds(1)) { b.isRevoked("before") })
        try await Task.sleep(for: .milliseconds(100))
        #expect(!b.isRevoked("after"))
    }

    /// Grants admitted by A's limiter count in B's window (without sharing B would admit 3).
    @Test func rateLimitHitsOnOneCountOnTheOther() async throws {
        let cluster = try await PostgresCluster.shared()
        let (a, b) = try await Self.stores(cluster)
        defer { a.close(); b.close() }
        let clock = SystemClock()
        let la = PostgresRateLimiter(store: a, clock: clock), lb = PostgresRateLimiter(store: b, clock: clock)
        for _ in 0..<2 { #expect(la.tryAcquire(key: "alice:x", limit: 3, window: 60, now: clock.monotonic())) }
        #expect(lb.tryAcquire(key: "alice:x", limit: 3, window: 60, now: clock.monotonic()))
        try await a.waitUntilShared()
        try await b.waitUntilShared()
        try await Task.sleep(for: .milliseconds(300))
        #expect(!lb.tryAcquire(key: "alice:x", limit: 3, window: 60, now: clock.monotonic()))
        #expect(!la.tryAcquire(key: "alice:x", limit: 3, window: 60, now: clock.monotonic()))
        #expect(lb.tryAcquire(key: "bob:x", limit: 3, window: 60, now: clock.monotonic()), "keys stay apart")
    }

    /// Own cluster: it is stopped and restarted.
    @Test func anUnreachableServerMakesTheStoreUnavailableUntilReconciled() async throws {
        let cluster = try await PostgresCluster.create()
        defer { cluster.remove() }
        let (a, b) = try await Self.stores(cluster)
        defer { a.close(); b.close() }
        try await cluster.stop()
        #expect(try await Self.eventually(within: .seconds(5)) { !a.isAvailable && !b.isAvailable })
        await #expect(throws: PostgresError.self) { try await a.revokeShared("while-down") }
        #expect(a.isRevoked("while-down"), "a failed shared revoke still holds locally (fail closed)")
        // A store closed while the server is down answers what it still had queued with a failure.
        let c = PostgresSharedStore(settings: a.settings)
        await #expect(throws: PostgresError.self) { try await c.revokeShared("c-while-down") }
        let queued = Task { try await c.revokeAllShared(principalID: "alice") }
        try await Task.sleep(for: .milliseconds(20))
        try await runBlocking { c.close() }
        await #expect(throws: PostgresError.self) { _ = try await queued.value }
        try await cluster.start()
        #expect(try await Self.eventually(within: .seconds(10)) { a.isAvailable && b.isAvailable })
        try await a.revokeShared("after")
        #expect(try await Self.eventually(within: .seconds(1)) { b.isRevoked("after") })
    }
}
