import AgentKernel
import CapgatePostgres
import CapgateTesting
import Foundation
import Testing

/// Two stores on one database stand for two sidecars: a revocation through one is seen by
/// the other within the fleet's bound, revoke_all covers tokens issued through either, and
/// an unreachable server makes both unavailable until they reconnected and reconciled.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct PostgresRevocationStoreTests {
    static func stores(_ cluster: PostgresCluster) async throws -> (PostgresRevocationStore, PostgresRevocationStore) {
        let db = try await cluster.createDatabase()
        let s = try PostgresConnectionTests.settings(cluster, db)
        _ = try await runBlocking { try PostgresSchema.migrate(try PostgresConnection(s)) }
        let a = PostgresRevocationStore(settings: s), b = PostgresRevocationStore(settings: s)
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
        try await cluster.start()
        #expect(try await Self.eventually(within: .seconds(10)) { a.isAvailable && b.isAvailable })
        try await a.revokeShared("after")
        #expect(try await Self.eventually(within: .seconds(1)) { b.isRevoked("after") })
    }
}
