import AgentKernel
@testable import CapgatePostgres
import CapgateTesting
import Foundation
import Testing

/// `[audit] retain_days` / `max_bytes` over a fleet's chains in PostgreSQL: a prefix of each
/// chain goes with its checkpoint, so every chain still verifies; a chain emptied by
/// retention continues when its writer writes again; concurrent prunes never move a
/// checkpoint back or delete past it; and the sweep bounds the other shared tables.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct PostgresAuditRetentionTests {
    static let secret = "fleet-secret"
    static let base: Int64 = 1_760_000_000_000_000

    static func trace(_ i: Int, at seconds: Double, principal: String = "alice", pad: Int = 0) -> ActionTrace {
        ActionTrace(actionID: "act-\(i)-\(UUID().uuidString)", capabilityID: "tasks.list", principalID: principal,
                    tokenID: "tok-\(i)", invokedAt: Timestamp(microseconds: base + Int64(seconds * 1_000_000)),
                    args: ["n": .int(i), "pad": .string(String(repeating: "x", count: pad))], responseMode: .summary,
                    driverID: "tasks", error: nil, resultSummary: ["row_count": .int(i)], eventType: .invoke,
                    reasonCode: nil)
    }

    static func database(_ cluster: PostgresCluster) async throws -> PostgresSettings {
        let db = try await cluster.createDatabase("ret")
        let s = try PostgresConnectionTests.settings(cluster, db)
        _ = try await runBlocking { try PostgresSchema.migrate(try PostgresConnection(s)) }
        return s
    }

    /// Writes `traces` through a new store (one chain) and closes it; returns its chain id.
    static func write(_ s: PostgresSettings, _ traces: [ActionTrace]) async throws -> String {
        let store = PostgresTraceStore(settings: s, secret: secret)
        for t in traces { store.record(t) }
        try await store.waitUntilDurable()
        store.close()
        return store.chainID
    }

    static func verify(_ s: PostgresSettings) async throws -> (AuditChainVerification, chains: Int) {
        try await runBlocking { try PostgresTraceStore.verifyAll(try PostgresConnection(s), secret: secret) }
    }

    static func query(_ s: PostgresSettings, _ sql: String, _ args: [String?] = []) async throws -> [[String?]] {
        try await runBlocking { try PostgresConnection(s).query(sql, args).rows }
    }

    @Test func agePrunesAPrefixOfEveryChainAndEveryChainStillVerifies() async throws {
        let s = try await Self.database(try await PostgresCluster.shared())
        let a = (0..<10).map { Self.trace($0, at: Double($0)) }
        let b = (0..<10).map { Self.trace(100 + $0, at: Double($0) + 0.5) }
        let chainA = try await Self.write(s, a), chainB = try await Self.write(s, b)
        #expect(try await Self.verify(s).0.recordsChecked == 20)

        // Keep what was invoked at or after a[4] (t = 4 s): a[0...3] and b[0...3] go.
        let now = a[4].invokedAt.adding(seconds: 86_400)
        let n = try await runBlocking { try PostgresAuditRetention(retainDays: 1).prune(try PostgresConnection(s), now: now) }
        #expect(n == 8)
        let (v, chains) = try await Self.verify(s)
        #expect(v.ok && v.recordsChecked == 12 && chains == 2, "\(v)")
        let cps = try await Self.query(s, "SELECT chain, checkpoint_next_seq, records FROM capgate_trace_chains ORDER BY chain")
        #expect(Set(cps.map { $0[0] ?? "" }) == [chainA, chainB])
        #expect(cps.allSatisfy { $0[1] == "5" && $0[2] == "6" }, "\(cps)")
        let left = Set(try await Self.query(s, "SELECT action_id FROM capgate_traces").map { $0[0] ?? "" })
        #expect(left == Set((a[4...] + b[4...]).map(\.actionID)))
        // Pruning again changes nothing.
        #expect(try await runBlocking { try PostgresAuditRetention(retainDays: 1).prune(try PostgresConnection(s), now: now) } == 0)

        // Deleting the first retained record without a checkpoint is a gap, not a prune.
        _ = try await Self.query(s, "DELETE FROM capgate_traces WHERE chain = $1 AND seq = 5", [chainA])
        let bad = try await Self.verify(s).0
        #expect(!bad.ok && bad.detail.contains("chain \(chainA)") && bad.detail.contains("expected seq 5"), "\(bad)")
    }

    /// A sidecar whose whole chain expired (its row goes too) keeps writing: the next records
    /// continue its chain from the checkpoint they link to, and it verifies.
    @Test func aChainEmptiedByRetentionContinuesWhenItsWriterWritesAgain() async throws {
        let s = try await Self.database(try await PostgresCluster.shared())
        let store = PostgresTraceStore(settings: s, secret: Self.secret)
        defer { store.close() }
        for i in 0..<3 { store.record(Self.trace(i, at: Double(i))) }
        try await store.waitUntilDurable()
        let now = Self.trace(0, at: 10).invokedAt.adding(seconds: 86_400)
        let n = try await runBlocking { try PostgresAuditRetention(retainDays: 1).prune(try PostgresConnection(s), now: now) }
        #expect(n == 3)
        #expect(try await Self.query(s, "SELECT count(*) FROM capgate_trace_chains") == [["0"]])
        for i in 3..<5 { store.record(Self.trace(i, at: Double(20 + i))) }
        try await store.waitUntilDurable()
        let (v, chains) = try await Self.verify(s)
        #expect(v.ok && v.recordsChecked == 2 && chains == 1, "\(v)")
        #expect(try await Self.query(s, "SELECT checkpoint_next_seq, records FROM capgate_trace_chains") == [["4", "2"]])
    }

    /// `max_bytes`: the oldest records across chains go until the live records fit, the
    /// newest stay, the counters match the table, and every chain verifies.
    @Test func sizePrunesTheOldestAcrossChainsAndKeepsTheCountersExact() async throws {
        let s = try await Self.database(try await PostgresCluster.shared())
        let a = (0..<120).map { Self.trace($0, at: Double($0), pad: 700) }
        let b = (0..<120).map { Self.trace(1000 + $0, at: Double($0) + 0.5, pad: 700) }
        _ = try await Self.write(s, a)
        _ = try await Self.write(s, b)
        let maxBytes = 65_536
        let n = try await runBlocking { try PostgresAuditRetention(maxBytes: maxBytes).prune(try PostgresConnection(s), now: .init(microseconds: 0)) }
        #expect((n ?? 0) > 100)
        let (v, chains) = try await Self.verify(s)
        #expect(v.ok && chains == 2 && v.recordsChecked == 240 - (n ?? 0), "\(v)")
        let counted = try await Self.query(s, "SELECT sum(live_bytes), sum(records) FROM capgate_trace_chains")[0]
        let actual = try await Self.query(s, "SELECT sum(octet_length(payload) + 256), count(*) FROM capgate_traces")[0]
        #expect(counted == actual, "\(counted) vs \(actual)")
        let used = Int(counted[0] ?? "") ?? .max
        #expect(used <= maxBytes && used > maxBytes / 2, "\(used)")
        // The newest of both chains stayed: everything left is newer than everything pruned.
        let left = Set(try await Self.query(s, "SELECT action_id FROM capgate_traces").map { $0[0] ?? "" })
        let byAge = (a + b).sorted { $0.invokedAt < $1.invokedAt }
        #expect(Set(byAge.suffix(left.count).map(\.actionID)) == left)
    }

    /// Two sidecars prune while both keep writing: their retention threads (size) and extra
    /// concurrent prunes by age never leave a chain that fails to verify, and concurrent cuts
    /// of one chain (bypassing the prune lock) never move its checkpoint back.
    @Test func concurrentPrunesNeverCorruptOrDoublePrune() async throws {
        let s = try await Self.database(try await PostgresCluster.shared())
        let retention = PostgresAuditRetention(maxBytes: 65_536)
        let a = PostgresTraceStore(settings: s, secret: Self.secret, retention: retention)
        let b = PostgresTraceStore(settings: s, secret: Self.secret, retention: retention)
        let writers = [a, b].enumerated().map { k, store in
            Task {
                for i in 0..<300 {
                    store.record(Self.trace(k * 10_000 + i, at: Double(i) / 10, pad: 300))
                    if i % 10 == 9 { try await store.waitUntilDurable() }
                }
            }
        }
        // Two more pruners by age, racing each other and the stores' threads.
        let racers = (0..<2).map { k in
            Task.detached {
                let c = try PostgresConnection(s)
                var ran = 0
                for step in 0..<40 {
                    let now = Self.trace(0, at: Double(step) * 0.5).invokedAt.adding(seconds: 86_400)
                    if try PostgresAuditRetention(retainDays: 1, maxBytes: 65_536 + k).prune(c, now: now) != nil { ran += 1 }
                    usleep(20_000)
                }
                return ran
            }
        }
        for w in writers { try await w.value }
        var ran = 0
        for r in racers { ran += try await r.value }
        #expect(ran > 0)
        try await Task.sleep(for: .milliseconds(1500))  // one more round of the stores' threads
        a.close()
        b.close()
        #expect(a.retentionError == nil && b.retentionError == nil, "\(a.retentionError ?? "") \(b.retentionError ?? "")")
        let (v, chains) = try await Self.verify(s)
        #expect(v.ok && chains == 2, "\(v)")
        let counted = try await Self.query(s, "SELECT sum(live_bytes), sum(records) FROM capgate_trace_chains")[0]
        let actual = try await Self.query(s, "SELECT sum(octet_length(payload) + 256), count(*) FROM capgate_traces")[0]
        #expect(counted == actual, "\(counted) vs \(actual)")
        #expect((Int(actual[1] ?? "") ?? 600) < 600, "nothing was pruned")

        // Cuts of one chain from two connections at once, without the lock, in a random order
        // of targets: the checkpoint ends at the furthest cut, and the chain verifies.
        let chain = try await Self.write(s, (0..<200).map { Self.trace(50_000 + $0, at: 1000 + Double($0)) })
        let cuts = Array(stride(from: 10, through: 190, by: 10)).shuffled()
        await withTaskGroup(of: Void.self) { group in
            for half in [Array(cuts.prefix(cuts.count / 2)), Array(cuts.suffix(cuts.count - cuts.count / 2))] {
                group.addTask {
                    let c = try? PostgresConnection(s)
                    for seq in half { _ = try? PostgresAuditRetention.cutPrefix(c!, chain: chain) { _ in seq } }
                }
            }
        }
        #expect(try await Self.query(s, "SELECT checkpoint_next_seq FROM capgate_trace_chains WHERE chain = $1", [chain])
                == [["191"]])
        #expect(try await Self.query(s, "SELECT min(seq), count(*) FROM capgate_traces WHERE chain = $1", [chain])
                == [["191", "10"]])
        #expect(try await Self.verify(s).0.ok)
    }

    /// A database written by the previous release (schema 4: chains without rows) verifies
    /// before and after migration 5, which backfills each chain's row (genesis, seq 1, counts),
    /// and retention then prunes those chains like any other.
    @Test func chainsWrittenBeforeMigrationFiveAreBackfilledAndPruned() async throws {
        let cluster = try await PostgresCluster.shared()
        let db = try await cluster.createDatabase("v4")
        let s = try PostgresConnectionTests.settings(cluster, db)
        let chain = AuditChain(secret: Self.secret)
        let traces = (0..<6).map { Self.trace($0, at: Double($0)) }
        try await runBlocking {
            let c = try PostgresConnection(s)
            try c.execute("CREATE TABLE capgate_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
            for m in PostgresSchema.migrations where m.version <= 4 {
                try c.execute(m.sql)
                try c.query("INSERT INTO capgate_schema (version) VALUES ($1::integer)", [String(m.version)])
            }
            var prev = AuditChain.genesisHash
            for (i, t) in traces.enumerated() {
                let r = chain.makeRecord(seq: i + 1, prevHash: prev, trace: t.exportJSON)
                try c.query("INSERT INTO capgate_traces VALUES ('old', $1::bigint, $2, $3, $4, $5, 'alice', 'tasks.list', $6)",
                            [String(i + 1), t.actionID, r.prevHash, r.recordHash, t.invokedAt.isoformat,
                             t.exportJSON.serialized(.pythonDefault)])
                prev = r.recordHash
            }
        }
        #expect(try await Self.verify(s).0.recordsChecked == 6)
        let (from, to) = try await runBlocking { try PostgresSchema.migrate(try PostgresConnection(s)) }
        #expect(from == 4 && to == PostgresSchema.latestVersion)
        #expect(try await Self.query(s, "SELECT checkpoint_next_seq, records, live_bytes = "
                                     + "(SELECT sum(octet_length(payload) + 256) FROM capgate_traces) FROM capgate_trace_chains")
                == [["1", "6", "t"]])
        let now = traces[2].invokedAt.adding(seconds: 86_400)
        #expect(try await runBlocking { try PostgresAuditRetention(retainDays: 1).prune(try PostgresConnection(s), now: now) } == 2)
        let (v, chains) = try await Self.verify(s)
        #expect(v.ok && v.recordsChecked == 4 && chains == 1, "\(v)")
    }

    /// The shared tables that would otherwise grow: expired revocations, issued tokens and
    /// handles go, and so do revocations of unknown expiry after two hours.
    @Test func theSweepBoundsRevocationsTokensAndHandles() async throws {
        let s = try await Self.database(try await PostgresCluster.shared())
        _ = try await Self.query(s, """
            INSERT INTO capgate_revocations (token_id, expires_at, revoked_at) VALUES
                ('expired', now() - interval '1 second', now() - interval '1 hour'),
                ('live', now() + interval '1 hour', now()),
                ('unknown-old', NULL, now() - interval '2 hours 1 minute'),
                ('unknown-recent', NULL, now() - interval '1 hour 50 minutes')
            """)
        _ = try await Self.query(s, "INSERT INTO capgate_issued_tokens VALUES ('t-old', 'alice', now() - interval '1 second'), "
                                    + "('t-live', 'alice', now() + interval '1 hour')")
        _ = try await Self.query(s, "INSERT INTO capgate_handles VALUES ('h-old', 'alice', now() - interval '1 second', '{}'), "
                                    + "('h-live', 'alice', now() + interval '1 hour', '{}')")
        try await runBlocking { try PostgresSharedStore.sweepExpired(try PostgresConnection(s)) }
        #expect(try await Self.query(s, "SELECT token_id FROM capgate_revocations ORDER BY token_id")
                == [["live"], ["unknown-recent"]])
        #expect(try await Self.query(s, "SELECT token_id FROM capgate_issued_tokens") == [["t-live"]])
        #expect(try await Self.query(s, "SELECT handle_id FROM capgate_handles") == [["h-live"]])
    }
}
