import AgentKernel
import Foundation

/// The durable audit trail (docs/audit.md): the reference's SQLite hash chain behind the
/// kernel's `TraceStoring` seam, with group commit.
///
/// Why this shape: the kernel records synchronously on its hot path and must never wait on
/// disk there, and a request must not answer before its record is durable. So `record`
/// only chains the trace in memory (seq, prev_hash, HMAC; microseconds, under a lock that
/// fixes the chain order) and queues it; one dedicated writer thread (never an event loop,
/// never the cooperative pool) drains the queue, writing everything queued since its last
/// commit in one transaction with one commit (an fsync in `.fsync` mode), then wakes the
/// callers of `waitUntilDurable()` whose records it covers. Records not yet committed are
/// already visible to `get`/`list`/`query`, like the in-memory store.
///
/// Fail closed: opening a file whose chain does not verify throws, naming the first bad
/// record; a failed commit stops the store for good (the in-memory chain head has moved past
/// what is on disk), every waiter and every later wait throws, and reads keep being served
/// from what is on disk.
public final class SQLiteTraceStore: TraceStoring, @unchecked Sendable {
    // @unchecked: `queue` is only touched under `cond`; `writer` only by the writer thread
    // after init; `reader` only under `readerLock`. Each SQLite connection is confined.

    public enum Durability: Sendable, Equatable {
        /// A traced verb answers after the commit's fsync (`PRAGMA synchronous=FULL`).
        case fsync
        /// Commits reach the OS at once (they survive a process crash) but the WAL is
        /// fsynced at most `maxDelayMilliseconds` later: a power loss can drop that window.
        case batch(maxDelayMilliseconds: Int)
    }

    private struct Pending {
        let record: AuditRecord
        let trace: ActionTrace
        let payload: String
    }

    private struct Queue {
        var nextSeq: Int
        var lastHash: String
        var pending: [Pending] = []
        /// Records handed to the writer and not yet committed (still readable from here).
        var inFlight: [Pending] = []
        /// Budget totals per session (`SQLiteBudgetStore`), the maximum reported; committed
        /// in the same transaction as the records queued with them.
        var spends: [String: Int] = [:]
        var spendsInFlight: [String: Int] = [:]
        /// Generations: every record or spend accepted bumps `accepted`; a commit makes
        /// everything accepted before the writer took its batch durable.
        var accepted = 0
        var durable = 0
        var isEmpty: Bool { pending.isEmpty && spends.isEmpty }
        var failure: String?
        var closing = false
        var waiters: [(target: Int, resume: CheckedContinuation<String?, Never>)] = []
    }

    public let path: String
    public let durability: Durability
    private let chain: AuditChain
    private let cond = NSCondition()
    private var queue: Queue
    private let writer: SQLiteConnection
    private let reader: SQLiteConnection
    private let readerLock = NSLock()
    private let stopped = DispatchSemaphore(value: 0)

    /// Opens (creating if needed) the store at `path` and verifies its whole chain with
    /// `secret`: a corrupted or tampered file throws, naming the first bad record.
    public let retention: AuditRetention?
    private let clock: any KernelClock

    public init(path: String, secret: String, durability: Durability = .fsync, retention: AuditRetention? = nil,
                clock: any KernelClock = SystemClock()) throws(AuditStoreError) {
        self.path = path
        self.durability = durability
        self.retention = retention
        self.clock = clock
        chain = AuditChain(secret: secret)
        writer = try SQLiteConnection(path: path)
        // WAL: readers never block the writer, and a commit is one append plus one fsync.
        guard try writer.scalarText("PRAGMA journal_mode=WAL")?.lowercased() == "wal" else {
            throw AuditStoreError("\(path): cannot switch the audit store to WAL mode")
        }
        switch durability {
        case .fsync: try writer.exec("PRAGMA synchronous=FULL")
        case .batch: try writer.exec("PRAGMA synchronous=NORMAL")
        }
        for ddl in AuditFile.schema { try writer.exec(ddl) }
        let verification = try AuditFile.verify(writer, chain: chain)
        guard verification.ok else {
            throw AuditStoreError("\(path): audit chain verification failed at seq \(verification.firstBadSeq ?? -1): "
                                  + verification.detail + " Refusing to start; inspect it with `capgate audit verify`.")
        }
        if let retention {
            _ = try AuditRetention.prune(writer, now: clock.now(), retainDays: retention.retainDays)
        }
        let head = try writer.prepare("SELECT seq, record_hash FROM traces ORDER BY seq DESC LIMIT 1")
        try head.bind([])
        if try head.step(), let hash = head.text(1) {
            queue = Queue(nextSeq: head.int(0) + 1, lastHash: hash)
        } else {
            let cp = try AuditFile.checkpoint(writer)
            queue = Queue(nextSeq: cp.nextSeq, lastHash: cp.hash)
        }
        reader = try SQLiteConnection(path: path)
        let thread = Thread { [self] in writerLoop() }
        thread.name = "capgate-audit-writer"
        thread.start()
    }

    deinit { /* `close()` stops the writer; the thread holds `self` until then. */ }

    /// Drains the queue, then stops the writer thread. Later records fail their wait.
    public func close() {
        cond.lock()
        let wasClosing = queue.closing
        queue.closing = true
        cond.signal()
        cond.unlock()
        if !wasClosing { stopped.wait() }
    }

    // MARK: - TraceStoring

    public func record(_ trace: ActionTrace) {
        let exported = trace.exportJSON
        let payload = exported.serialized(.pythonDefault)  // json.dumps(payload), as the reference stores it
        let canonical = exported.serializedBytes(.canonical)  // outside the lock: only the MAC is inside
        cond.lock()
        defer { cond.unlock() }
        guard queue.failure == nil, !queue.closing else { return }
        let hash = chain.recordHash(seq: queue.nextSeq, prevHash: queue.lastHash, canonicalTrace: canonical)
        let rec = AuditRecord(seq: queue.nextSeq, prevHash: queue.lastHash, recordHash: hash, trace: exported)
        queue.nextSeq += 1
        queue.lastHash = rec.recordHash
        queue.pending.append(Pending(record: rec, trace: trace, payload: payload))
        queue.accepted += 1
        if queue.pending.count == 1 { cond.signal() }
    }

    // MARK: - Budget spends (SQLiteBudgetStore)

    /// Queues `session`'s new total for the next group commit (keeping the maximum).
    func enqueueSpend(session: String, used: Int) {
        cond.lock()
        defer { cond.unlock() }
        guard queue.failure == nil, !queue.closing else { return }
        let wasEmpty = queue.isEmpty
        queue.spends[session] = max(queue.spends[session] ?? 0, used)
        queue.accepted += 1
        if wasEmpty { cond.signal() }
    }

    /// The session's total: queued, in flight or stored, whichever is largest. The queue is
    /// read first, so a spend committed in between is found on disk.
    func spent(session: String) throws(AuditStoreError) -> Int {
        cond.lock()
        let queued = max(queue.spends[session] ?? 0, queue.spendsInFlight[session] ?? 0)
        cond.unlock()
        readerLock.lock()
        defer { readerLock.unlock() }
        let s = try reader.prepare("SELECT used FROM budget_spend WHERE session = ?")
        try s.bind([.text(session)])
        return max(queued, try s.step() ? s.int(0) : 0)
    }

    public func waitUntilDurable() async throws(KernelError) {
        let failure: String? = await withCheckedContinuation { (k: CheckedContinuation<String?, Never>) in
            cond.lock()
            if let f = queue.failure {
                cond.unlock()
                k.resume(returning: f)
            } else if queue.durable >= queue.accepted {
                cond.unlock()
                k.resume(returning: nil)
            } else {
                queue.waiters.append((queue.accepted, k))
                cond.unlock()
            }
        }
        if let failure { throw KernelError(.agentKernelError, "audit store unavailable: \(failure)") }
    }

    public func get(_ actionID: String) throws(KernelError) -> ActionTrace {
        if let t = unsyncedSnapshot().first(where: { PyString.equal($0.actionID, actionID) }) { return t }
        let found: ActionTrace?
        do {
            found = try readRows("SELECT seq, payload FROM traces WHERE action_id = ?", [.text(actionID)]).first
        } catch {
            throw KernelError(.agentKernelError, "audit store read failed: \(error)")
        }
        guard let t = found else {
            throw KernelError(.agentKernelError, "No action trace found for action_id=\(PyString.repr(actionID)).",
                              site: .traceNotFound)
        }
        return t
    }

    public func list() -> [ActionTrace] {
        (try? listOrThrow(where: "", [])) ?? unsyncedSnapshot()
    }

    /// Principal and capability equality, and a widened time window, are pushed down to the
    /// indexes; `TraceQuery.apply` then decides exactly, so every backend answers alike.
    public func query(_ q: TraceQuery) throws(KernelError) -> [ActionTrace] {
        var clauses: [String] = []
        var args: [SQLiteValue] = []
        if let p = q.principalID { clauses.append("json_extract(payload, '$.principal_id') = ?"); args.append(.text(p)) }
        if let c = q.capabilityID { clauses.append("json_extract(payload, '$.capability_id') = ?"); args.append(.text(c)) }
        // invoked_at is UTC isoformat; a day of slack covers any offset a foreign writer used.
        if let s = q.since { clauses.append("invoked_at >= ?"); args.append(.text(s.adding(seconds: -86_400).isoformat)) }
        if let u = q.until { clauses.append("invoked_at < ?"); args.append(.text(u.adding(seconds: 86_400).isoformat)) }
        let rows: [ActionTrace]
        do {
            rows = try listOrThrow(where: clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND "), args)
        } catch {
            throw KernelError(.agentKernelError, "audit store read failed: \(error)")
        }
        return try q.apply(to: rows)
    }

    /// Number of records accepted and not yet committed (for tests and metrics).
    public var backlog: Int { cond.lock(); defer { cond.unlock() }; return queue.accepted - queue.durable }

    // MARK: - Reading

    private func unsyncedSnapshot() -> [ActionTrace] { unsyncedRecords().map(\.trace) }

    private func unsyncedRecords() -> [Pending] {
        cond.lock()
        defer { cond.unlock() }
        return queue.inFlight + queue.pending
    }

    /// Stored rows (optionally filtered) followed by the records not yet committed. The
    /// snapshot is taken first, so a record committed in between is found on disk: every
    /// snapshot record whose seq the read saw committed is left out. Why by seq and not by the
    /// last rows read: between the snapshot and the read the writer may commit the snapshot's
    /// records AND newer ones, which then follow them on disk (the old suffix check appended
    /// such records a second time under load).
    private func listOrThrow(where clause: String, _ args: [SQLiteValue]) throws(AuditStoreError) -> [ActionTrace] {
        let unsynced = unsyncedRecords()
        // One read transaction: the rows and the highest committed seq come from the same
        // snapshot (the filtered rows alone may not show it).
        readerLock.lock()
        defer { readerLock.unlock() }
        try reader.exec("BEGIN")
        let stored: [ActionTrace]
        let committed: Int
        do {
            stored = try readRowsLocked("SELECT seq, payload FROM traces" + clause + " ORDER BY seq", args)
            let s = try reader.prepare("SELECT COALESCE(MAX(seq), -1) FROM traces")
            committed = try s.step() ? s.int(0) : -1
        } catch {
            try? reader.exec("ROLLBACK")
            throw error
        }
        try reader.exec("COMMIT")
        // Committed in seq order: everything of the snapshot up to `committed` is on disk.
        return stored + unsynced.filter { $0.record.seq > committed }.map(\.trace)
    }

    private func readRows(_ sql: String, _ args: [SQLiteValue]) throws(AuditStoreError) -> [ActionTrace] {
        readerLock.lock()
        defer { readerLock.unlock() }
        return try readRowsLocked(sql, args)
    }

    /// `readRows` for a caller that holds `readerLock`.
    private func readRowsLocked(_ sql: String, _ args: [SQLiteValue]) throws(AuditStoreError) -> [ActionTrace] {
        let s = try reader.prepare(sql)
        try s.bind(args)
        var out: [ActionTrace] = []
        while try s.step() {
            let seq = s.int(0)
            let rec = try AuditFile.record(seq: seq, prevHash: "", recordHash: "", payload: s.text(1), path: path)
            do {
                out.append(try ActionTrace(exported: rec.trace))
            } catch {
                throw AuditStoreError("\(path): corrupted trace payload at seq \(seq): \(error.message)")
            }
        }
        return out
    }

    // MARK: - The writer thread

    private func writerLoop() {
        let insert: SQLiteStatement
        let spend: SQLiteStatement
        do {
            insert = try writer.prepare("INSERT INTO traces (seq, action_id, prev_hash, record_hash, invoked_at, payload) "
                                        + "VALUES (?, ?, ?, ?, ?, ?)")
            // Totals only grow: a smaller one (two reports crossing) never lowers the stored one.
            spend = try writer.prepare("INSERT INTO budget_spend (session, used) VALUES (?, ?) "
                                       + "ON CONFLICT(session) DO UPDATE SET used = max(used, excluded.used)")
        } catch {
            fail(error.message, batch: 0)
            stopped.signal()
            return
        }
        var lastSync = DispatchTime.now().uptimeNanoseconds
        var lastPrune = lastSync
        while true {
            cond.lock()
            while queue.isEmpty && !queue.closing { cond.wait() }
            if queue.isEmpty {  // closing and drained
                cond.unlock()
                break
            }
            let batch = queue.pending
            let spends = queue.spends
            let target = queue.accepted
            queue.pending = []
            queue.spends = [:]
            queue.inFlight = batch
            queue.spendsInFlight = spends
            cond.unlock()
            do {
                try writer.exec("BEGIN IMMEDIATE")
                for p in batch {
                    try insert.run([.int(p.record.seq), .text(p.trace.actionID), .text(p.record.prevHash),
                                    .text(p.record.recordHash), .text(p.trace.invokedAt.isoformat), .text(p.payload)])
                }
                for (session, used) in spends { try spend.run([.text(session), .int(used)]) }
                try writer.exec("COMMIT")
                if let retention, DispatchTime.now().uptimeNanoseconds - lastPrune >= 60_000_000_000 {
                    // At most once a minute, on this thread, between batches.
                    _ = try AuditRetention.prune(writer, now: clock.now(), retainDays: retention.retainDays)
                    lastPrune = DispatchTime.now().uptimeNanoseconds
                }
                if case .batch(let ms) = durability {
                    let now = DispatchTime.now().uptimeNanoseconds
                    if now - lastSync >= UInt64(ms) * 1_000_000 {
                        try writer.exec("PRAGMA wal_checkpoint(PASSIVE)")  // fsyncs the WAL
                        lastSync = now
                    }
                }
            } catch {
                try? writer.exec("ROLLBACK")
                fail(error.message, batch: batch.count)
                continue
            }
            cond.lock()
            queue.durable = target
            queue.inFlight = []
            queue.spendsInFlight = [:]
            let durable = queue.durable
            var ready: [CheckedContinuation<String?, Never>] = []
            queue.waiters.removeAll { w in
                if w.target <= durable { ready.append(w.resume); return true }
                return false
            }
            cond.unlock()
            for k in ready { k.resume(returning: nil) }
        }
        stopped.signal()
    }

    /// Fails closed: no further record is accepted and every waiter learns why.
    private func fail(_ message: String, batch: Int) {
        cond.lock()
        if queue.failure == nil { queue.failure = "commit failed: \(message)" }
        let failure = queue.failure
        let waiters = queue.waiters
        queue.waiters = []
        queue.pending = []
        queue.inFlight = []  // never on disk: not shown as if it were
        queue.spends = [:]
        queue.spendsInFlight = [:]
        cond.unlock()
        for w in waiters { w.resume.resume(returning: failure) }
    }
}
