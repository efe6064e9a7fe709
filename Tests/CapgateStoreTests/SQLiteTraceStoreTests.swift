import AgentKernel
import CSQLite
import CapgateStore
import CapgateTesting
import Foundation
import Testing

/// The durable chain in the reference's format: written through the kernel, read back, and
/// verified both by our code and by the reference's own `weaver-kernel audit` CLI (from
/// `.venv`, made by `make test`).
@Suite(.timeLimit(.minutes(1)))
struct SQLiteTraceStoreTests {
    static let secret = "s3cret-ünï"
    static var cli: String { Products.packageRoot + "/.venv/bin/weaver-kernel" }

    static func trace(_ i: Int, principal: String = "alice", capability: String = "billing.list_invoices",
                      error: String? = nil) -> ActionTrace {
        ActionTrace(actionID: "act-\(i)-\(UUID().uuidString)", capabilityID: capability, principalID: principal,
                    tokenID: "tok-\(i)", invokedAt: Timestamp(microseconds: 1_760_000_000_000_000 + Int64(i) * 1_500),
                    args: ["n": .int(i), "note": "ü ✓ \"q\"", "f": .double(0.1)], responseMode: .summary,
                    driverID: "billing", error: error, resultSummary: ["row_count": .int(i)],
                    eventType: error == nil ? .invoke : .deny, reasonCode: error == nil ? nil : "role_missing")
    }

    static func fill(_ dir: String, count: Int) async throws -> (String, [ActionTrace]) {
        let path = dir + "/audit.db"
        let store = try SQLiteTraceStore(path: path, secret: secret)
        var written: [ActionTrace] = []
        for i in 0..<count {
            let t = trace(i, principal: i % 3 == 0 ? "bob" : "alice", error: i % 4 == 0 ? "denied" : nil)
            store.record(t)
            written.append(t)
        }
        try await store.waitUntilDurable()
        #expect(store.backlog == 0)
        store.close()
        return (path, written)
    }

    static func reference(_ args: [String]) async throws -> ProcessResult {
        guard FileManager.default.isExecutableFile(atPath: cli) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: cli + " missing: run `make venv`"])
        }
        return try await runProcess(cli, args)
    }

    @Test func roundTripsAndQueriesAfterReopen() async throws {
        let dir = try makeTempDirectory("audit")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (path, written) = try await Self.fill(dir, count: 12)
        let store = try SQLiteTraceStore(path: path, secret: Self.secret)
        defer { store.close() }
        #expect(store.list() == written)
        #expect(try store.get(written[5].actionID) == written[5])
        #expect(throws: KernelError.self) { try store.get("missing") }
        let q = TraceQuery(principalID: "bob", since: written[3].invokedAt, limit: 2, offset: 0)
        #expect(try store.query(q) == (try q.apply(to: written)))
        let failed = TraceQuery(capabilityID: "billing.list_invoices", outcome: "failed")
        #expect(try store.query(failed) == (try failed.apply(to: written)))
        // Appends after a reopen continue the chain.
        let more = Self.trace(99)
        store.record(more)
        try await store.waitUntilDurable()
        #expect(try store.get(more.actionID) == more)
    }

    @Test func theReferenceCLIVerifiesListsShowsAndExportsOurFile() async throws {
        let dir = try makeTempDirectory("audit")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (path, written) = try await Self.fill(dir, count: 7)
        let verify = try await Self.reference(["audit", "verify", "--store", path, "--format", "sqlite",
                                               "--secret", Self.secret, "--json"])
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        let v = try JSONParser.parse(verify.stdout)
        #expect(v["ok"] == .bool(true), "\(verify.stdout)")
        #expect(v["records_checked"] == .int(7), "\(verify.stdout)")

        let show = try await Self.reference(["audit", "show", written[2].actionID, "--store", path, "--format", "sqlite"])
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains(written[2].actionID))

        let list = try await Self.reference(["audit", "list", "--store", path, "--format", "sqlite"])
        #expect(list.status == 0, "\(list.stderr)")
        for t in written { #expect(list.stdout.contains(String(t.actionID.prefix(8)))) }

        let export = try await Self.reference(["audit", "export", "--store", path, "--format", "sqlite"])
        #expect(export.status == 0, "\(export.stderr)")
        let lines = export.stdout.split(separator: "\n")
        #expect(lines.count == 7)
        // Each exported line is the reference's export shape of one of our traces.
        let first = try JSONParser.parse(String(lines[0]))
        #expect(try ActionTrace(exported: first) == written[0])
        #expect(first == written[0].exportJSON)

        let wrong = try await Self.reference(["audit", "verify", "--store", path, "--format", "sqlite",
                                              "--secret", "not-it", "--json"])
        #expect(wrong.status != 0)
    }

    @Test func aTamperedRowIsReportedByBothVerifiersAndRefusesToOpen() async throws {
        let dir = try makeTempDirectory("audit")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (path, _) = try await Self.fill(dir, count: 6)
        // Edit one payload behind the store's back, as an attacker without the secret would.
        var db: OpaquePointer?
        #expect(sqlite3_open(path, &db) == SQLITE_OK)
        // The closed store's connections may still be finishing their WAL checkpoint: wait for the
        // lock as any second opener (the reference CLI included) does, rather than failing BUSY.
        sqlite3_busy_timeout(db, 5000)
        #expect(sqlite3_exec(db, "UPDATE traces SET payload = replace(payload, '\"tok-3\"', '\"tok-X\"') WHERE seq = 3",
                             nil, nil, nil) == SQLITE_OK)
        #expect(sqlite3_changes(db) == 1)
        sqlite3_close(db)

        let verify = try await Self.reference(["audit", "verify", "--store", path, "--format", "sqlite",
                                               "--secret", Self.secret, "--json"])
        #expect(verify.status != 0)
        let v = try JSONParser.parse(verify.stdout)
        #expect(v["ok"] == .bool(false))
        #expect(v["first_bad_seq"] == .int(3), "\(verify.stdout)")

        do {
            _ = try SQLiteTraceStore(path: path, secret: Self.secret)
            Issue.record("a tampered store must refuse to open")
        } catch {
            #expect(error.message.contains("seq 3"), "\(error.message)")
            #expect(error.message.contains("Tampered record"), "\(error.message)")
        }
    }

    @Test func concurrentRecordersShareCommitsAndEveryWaiterSeesItsRecordDurable() async throws {
        let dir = try makeTempDirectory("audit")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/audit.db"
        let store = try SQLiteTraceStore(path: path, secret: Self.secret)
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<64 {
                group.addTask {
                    let t = Self.trace(i)
                    store.record(t)
                    try await store.waitUntilDurable()
                    return t.actionID
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        store.close()
        // Durable means readable by a fresh process-level open, chain intact.
        let reopened = try SQLiteTraceStore(path: path, secret: Self.secret)
        defer { reopened.close() }
        #expect(Set(reopened.list().map(\.actionID)) == Set(ids))
    }
}

/// The framed hash over pre-serialized canonical bytes equals the hash of the whole record.
@Test func recordHashFromCanonicalBytesEqualsTheWholeRecordHash() {
    let chain = AuditChain(secret: "k")
    let trace = SQLiteTraceStoreTests.trace(7, error: "x").exportJSON
    for (seq, prev) in [(0, AuditChain.genesisHash), (123_456, String(repeating: "ab", count: 32))] {
        #expect(chain.recordHash(seq: seq, prevHash: prev, canonicalTrace: trace.serializedBytes(.canonical))
                == chain.recordHash(seq: seq, prevHash: prev, trace: trace))
    }
}

/// Retention prunes the expired prefix with the reference's checkpoint: the suffix verifies
/// with ours and the reference's CLI, new records continue the chain, and a flood by one
/// principal erases nobody's records (there is no count-based eviction).
@Suite(.timeLimit(.minutes(1)))
struct AuditRetentionTests {
    struct FixedClock: KernelClock {
        let at: Timestamp
        func now() -> Timestamp { at }
        func monotonic() -> Double { 0 }
    }

    @Test func pruningKeepsAVerifiableSuffix() async throws {
        let dir = try makeTempDirectory("audit-ret")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (path, written) = try await SQLiteTraceStoreTests.fill(dir, count: 10)  // 1.5 ms apart
        // Keep records invoked at or after written[4]: the window ends at `now`.
        let now = written[4].invokedAt.adding(seconds: 86_400)
        let store = try SQLiteTraceStore(path: path, secret: SQLiteTraceStoreTests.secret,
                                         retention: AuditRetention(retainDays: 1), clock: FixedClock(at: now))
        #expect(store.list() == Array(written[4...]))
        let more = SQLiteTraceStoreTests.trace(50)
        store.record(more)
        try await store.waitUntilDurable()
        store.close()

        let reader = try AuditFileReader(path: path)
        let mine = try reader.verify(secret: SQLiteTraceStoreTests.secret)
        #expect(mine.ok && mine.recordsChecked == 7, "\(mine)")
        let r = try await SQLiteTraceStoreTests.reference(["audit", "verify", "--store", path, "--format", "sqlite",
                                                           "--secret", SQLiteTraceStoreTests.secret, "--json"])
        let v = try JSONParser.parse(r.stdout)
        #expect(v["ok"] == .bool(true) && v["records_checked"] == .int(7), "\(r.stdout) \(r.stderr)")
    }

    @Test func oneFloodingPrincipalCannotPushOutAnothersRecords() async throws {
        let dir = try makeTempDirectory("audit-flood")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteTraceStore(path: dir + "/audit.db", secret: "k")
        defer { store.close() }
        let victim = SQLiteTraceStoreTests.trace(0, principal: "alice")
        store.record(victim)
        for i in 1...10_001 { store.record(SQLiteTraceStoreTests.trace(i, principal: "mallory", error: "denied")) }
        try await store.waitUntilDurable()
        #expect(try store.get(victim.actionID) == victim)
        #expect(try store.query(TraceQuery(principalID: "alice")) == [victim])
        #expect(store.list().count == 10_002)
    }
}

/// Readers run while the writer commits: the store's own reads and a second read-only
/// connection (`capgate audit`) always see a chain-ordered prefix of what was recorded, and
/// the file verifies at every moment.
@Test(.timeLimit(.minutes(1))) func readersConcurrentWithTheWriterSeeConsistentPrefixes() async throws {
    let dir = try makeTempDirectory("audit-read")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/audit.db"
    let store = try SQLiteTraceStore(path: path, secret: SQLiteTraceStoreTests.secret)
    let all = (0..<400).map { SQLiteTraceStoreTests.trace($0) }
    let ids = all.map(\.actionID)
    let writer = Task {
        for chunk in stride(from: 0, to: all.count, by: 8) {
            for t in all[chunk..<min(chunk + 8, all.count)] { store.record(t) }
            try await store.waitUntilDurable()
        }
    }
    let reader = try AuditFileReader(path: path)
    var reads = 0
    while !(writer.isCancelled) {
        let seen = store.list().map(\.actionID)
        #expect(Array(ids.prefix(seen.count)) == seen, "the store's view is not a prefix")
        let onDisk = try reader.traces().map(\.actionID)
        #expect(Array(ids.prefix(onDisk.count)) == onDisk, "the file's view is not a prefix")
        #expect(try reader.verify(secret: SQLiteTraceStoreTests.secret).ok)
        reads += 1
        if onDisk.count == all.count { break }
        await Task.yield()
    }
    try await writer.value
    #expect(reads > 1)
    store.close()
}

/// `get` keeps the traces it read from disk (an `explain` re-reads the same row): the cache
/// must answer exactly as the table does, after retention deleted a row and for an id spelled
/// with other bytes.
@Suite(.timeLimit(.minutes(1)))
struct SQLiteTraceStoreReadCacheTests {
    static func expectNotFound(_ store: SQLiteTraceStore, _ id: String) {
        #expect {
            _ = try store.get(id)
        } throws: { ($0 as? KernelError)?.site == .traceNotFound }
    }

    @Test func aTracePrunedBySizeIsNotFoundAfterItWasRead() async throws {
        let dir = try makeTempDirectory("audit-cache")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteTraceStore(path: dir + "/audit.db", secret: "k", retention: AuditRetention(maxBytes: 96 * 1024))
        defer { store.close() }
        let first = SQLiteTraceStoreTests.trace(0)
        store.record(first)
        try await store.waitUntilDurable()
        #expect(try store.get(first.actionID) == first)  // read from disk: now cached
        #expect(try store.get(first.actionID) == first)
        // Size retention runs after each commit and deletes the oldest records first.
        var i = 1
        while store.list().first?.actionID == first.actionID {
            for _ in 0..<20 { store.record(SQLiteTraceStoreTests.trace(i)); i += 1 }
            try await store.waitUntilDurable()
            try await Task.sleep(for: .milliseconds(5))
            try #require(i < 20_000, "size retention never pruned the first record")
        }
        Self.expectNotFound(store, first.actionID)
        let kept = try #require(store.list().last)
        #expect(try store.get(kept.actionID) == kept)
    }

    @Test func onlyTheSameBytesAreAnsweredFromTheCache() async throws {
        let dir = try makeTempDirectory("audit-cache-nfc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteTraceStore(path: dir + "/audit.db", secret: "k")
        defer { store.close() }
        let composed = "act-\u{E9}", decomposed = "act-e\u{301}"  // equal as Swift Strings
        #expect(composed == decomposed)
        var t = SQLiteTraceStoreTests.trace(0)
        t.actionID = composed
        store.record(t)
        try await store.waitUntilDurable()
        #expect(try store.get(composed) == t)
        #expect(try store.get(composed) == t)
        // SQLite matches action_id byte for byte: the other spelling is not in the table.
        Self.expectNotFound(store, decomposed)
        #expect(try store.get(composed) == t)
    }
}
