import AgentKernel
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The durable audit trail (docs/audit.md): the reference's SQLite hash chain behind the
/// kernel's `TraceStoring` seam, with group commit.
///
/// Why this shape: the kernel records synchronously on its hot path and must never wait on
/// disk there, and a request must not answer before its record is durable. So `record`
/// only chains the trace in memory (seq, prev_hash, HMAC; microseconds, under a lock that
/// fixes the chain order) and queues it; one dedicated writer thread (never an event loop,
/// never the cooperative pool) drains the queue, writing everything queued since its last
/// commit in one transaction with one commit. Records not yet committed are already visible
/// to `get`/`list`/`query`, like the in-memory store.
///
/// Pipelined fsync (`.fsync`): the commit itself does not fsync (`synchronous=NORMAL`); two
/// sync threads fsync the WAL file after commits and wake the callers of `waitUntilDurable()`
/// whose records were written before that fsync began. That is what `synchronous=FULL` does
/// in WAL mode (the WAL is synced at each commit; checkpoints sync the database either way),
/// but the writer is already committing the next batch while an fsync is in flight, and a
/// slow fsync (a shared disk's tail latency) is overtaken by a later one, which covers
/// everything written before it started. Answered only after an fsync: the contract is kept.
///
/// Fail closed: opening a file whose chain does not verify throws, naming the first bad
/// record. A failed commit (disk full, I/O error) drops every record not yet on disk and
/// fails their waiters; the chain head is then re-read from the file, so the next record
/// links to the last durable one and the store resumes once writes succeed again. A wait
/// that started before the failure (`waitUntilDurable(since:)`) throws even after that. If
/// the head cannot be re-read, the store stops for good. Reads keep being served from disk.
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
        /// Committed to the WAL (`.fsync`: not yet known to be fsynced).
        var written = 0
        /// The highest `written` a sync thread has started an fsync for.
        var syncClaimed = 0
        var writerDone = false
        var durable = 0
        /// The `accepted` generation at the last failed commit: every record at or below it
        /// and above the durable mark of that moment was dropped.
        var lostThrough = 0
        var lastLoss: String?
        var retentionError: String?
        var isEmpty: Bool { pending.isEmpty && spends.isEmpty }
        var failure: String?
        var closing = false
        var waiters: [(target: Int, resume: CheckedContinuation<String?, Never>)] = []

        /// After a failed commit: drops every record and spend not on disk (never shown as if
        /// they were) and hands back the waiters, to be told why outside the lock.
        mutating func dropUnwritten() -> [(target: Int, resume: CheckedContinuation<String?, Never>)] {
            let taken = waiters
            waiters = []
            pending = []
            inFlight = []
            spends = [:]
            spendsInFlight = [:]
            return taken
        }
    }

    public let path: String
    public let durability: Durability
    private let chain: AuditChain
    private let cond = NSCondition()
    private var queue: Queue
    private let writer: SQLiteConnection
    private let reader: SQLiteConnection
    private let readerLock = NSLock()
    /// The reader's prepared statements by SQL, under `readerLock`: an `explain` read the
    /// trace with a freshly parsed statement each time (SQLite's parser was a tenth of the
    /// sidecar's CPU on that verb). Bounded: the SQL comes from fixed clauses only.
    private var readerStatements: [String: SQLiteStatement] = [:]
    /// Traces `get` read from disk, by action id, under `readerLock`. WHY: a row on disk never
    /// changes (`action_id` is UNIQUE, records are only inserted), so re-reading it cost an
    /// `explain` a read transaction (two fcntl locks and an fstat), the payload's JSON parse and
    /// the trace's decoding: about a quarter of the sidecar's CPU on that verb. Only retention
    /// deletes rows, and it blocks and clears this cache around its delete (`pruning`), so a
    /// pruned trace is never answered from here. Only rows read from disk enter (records still
    /// queued can be dropped by a failed commit); misses are not kept.
    private var traceCache: [String: ActionTrace] = [:]
    /// A retention prune is running: the cache is neither read nor filled (under `readerLock`).
    private var pruning = false
    /// Bound of `traceCache`; full, it starts over (a few MiB at most).
    static let traceCacheLimit = 1024
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
        // NORMAL in both modes: `.fsync` syncs the WAL itself (the sync threads) before anyone
        // is answered; checkpoints still sync the WAL before and the database after.
        try writer.exec("PRAGMA synchronous=NORMAL")
        for ddl in AuditFile.schema { try writer.exec(ddl) }
        let verification = try AuditFile.verify(writer, chain: chain)
        guard verification.ok else {
            throw AuditStoreError("\(path): audit chain verification failed at seq \(verification.firstBadSeq ?? -1): "
                                  + verification.detail + " Refusing to start; inspect it with `capgate audit verify`.")
        }
        if let days = retention?.retainDays { _ = try AuditRetention.prune(writer, now: clock.now(), retainDays: days) }
        if let bytes = retention?.maxBytes { _ = try AuditRetention.pruneToSize(writer, maxBytes: bytes) }
        let head = try Self.durableHead(writer)
        // A verified chain whose head seq is near Int.max can only be forged (with the secret):
        // refuse it instead of overflowing `seq + 1` later (found by the audit_record fuzz target).
        guard head.seq < Int.max / 2 else {
            throw AuditStoreError("\(path): audit chain head seq \(head.seq) is out of range. Refusing to start.")
        }
        queue = Queue(nextSeq: head.seq + 1, lastHash: head.hash)
        reader = try SQLiteConnection(path: path)
        let thread = Thread { [self] in writerLoop() }
        thread.name = "capgate-audit-writer"
        thread.start()
        if durability == .fsync {
            for i in 0..<Self.syncThreads {
                let syncer = Thread { [self] in syncLoop() }
                syncer.name = "capgate-audit-sync\(i)"
                syncer.start()
            }
        }
    }

    /// fsyncs that may be in flight at once; a second one lets a later fsync overtake a slow one.
    static let syncThreads = 2
    /// The WAL file's descriptor for the sync threads (opened on first use, under `cond`).
    private var walFD: Int32 = -1
    private var walInode: (dev: UInt64, ino: UInt64) = (0, 0)

    deinit { /* `close()` stops the writer; the thread holds `self` until then. */ }

    /// Drains the queue, then stops the writer thread. Later records fail their wait.
    public func close() {
        cond.lock()
        let wasClosing = queue.closing
        queue.closing = true
        cond.broadcast()
        cond.unlock()
        guard !wasClosing else { return }
        for _ in 0..<(durability == .fsync ? 1 + Self.syncThreads : 1) { stopped.wait() }
        cond.lock()
        if walFD >= 0 { Glibc.close(walFD) }
        walFD = -1
        cond.unlock()
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
        if queue.pending.count == 1 { cond.broadcast() }
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
        if wasEmpty { cond.broadcast() }
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

    public func waitUntilDurable() async throws(KernelError) { try await waitUntilDurable(since: Int.max) }

    public func durabilityMark() -> Int {
        cond.lock()
        defer { cond.unlock() }
        return queue.accepted
    }

    public func waitUntilDurable(since mark: Int) async throws(KernelError) {
        let failure: String? = await withCheckedContinuation { (k: CheckedContinuation<String?, Never>) in
            cond.lock()
            if let f = queue.failure {
                cond.unlock()
                k.resume(returning: f)
            } else if queue.lostThrough > mark, let f = queue.lastLoss {
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
        if let t = unsyncedTrace(actionID) { return t }
        let found: ActionTrace?
        do {
            found = try readStoredTrace(actionID)
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

    /// The queued or in-flight record of `actionID`, searched in place (no snapshot copy:
    /// `get` runs on every `explain`), in the snapshot's order.
    private func unsyncedTrace(_ actionID: String) -> ActionTrace? {
        cond.lock()
        defer { cond.unlock() }
        if let p = queue.inFlight.first(where: { PyString.equal($0.trace.actionID, actionID) }) { return p.trace }
        return queue.pending.first(where: { PyString.equal($0.trace.actionID, actionID) })?.trace
    }

    /// The stored trace of `actionID` (`traceCache`, else one indexed read). SQLite matches
    /// `action_id` byte for byte while a Swift dictionary matches canonically equivalent
    /// strings, so a cached trace answers only a query with the very bytes it was read with;
    /// any other spelling reads the table, as before.
    private func readStoredTrace(_ actionID: String) throws(AuditStoreError) -> ActionTrace? {
        readerLock.lock()
        defer { readerLock.unlock() }
        if !pruning, let cached = traceCache[actionID], ConstantTime.equal(cached.actionID, actionID) {
            return cached
        }
        let found = try readRowsLocked("SELECT seq, payload FROM traces WHERE action_id = ?", [.text(actionID)]).first
        if let found, !pruning, ConstantTime.equal(found.actionID, actionID) {
            if traceCache.count >= Self.traceCacheLimit { traceCache.removeAll(keepingCapacity: true) }
            traceCache[actionID] = found
        }
        return found
    }

    /// Runs a retention prune with the trace cache off, and empties it when rows were deleted.
    private func pruneWithCacheOff(_ prune: () throws(AuditStoreError) -> Int) throws(AuditStoreError) {
        readerLock.lock()
        pruning = true
        readerLock.unlock()
        var deleted = 1  // a failed prune may have deleted: assume it did
        defer {
            readerLock.lock()
            if deleted > 0 { traceCache.removeAll() }
            pruning = false
            readerLock.unlock()
        }
        deleted = try prune()
    }

    private func unsyncedRecords() -> [Pending] {
        cond.lock()
        defer { cond.unlock() }
        return queue.inFlight + queue.pending
    }

    /// Stored rows (optionally filtered) followed by the records not yet committed. The
    /// snapshot is taken first and the rows are read in one read transaction with the
    /// highest stored seq: a snapshot record at or below it was committed in between and
    /// is already among the rows (once), one above it is not on disk yet.
    private func listOrThrow(where clause: String, _ args: [SQLiteValue]) throws(AuditStoreError) -> [ActionTrace] {
        let unsynced = unsyncedRecords()
        let sql = "SELECT seq, payload FROM traces" + clause + " ORDER BY seq"
        guard !unsynced.isEmpty else { return try readRows(sql, args) }
        readerLock.lock()
        defer { readerLock.unlock() }
        // One snapshot for both statements (a WAL reader sees a consistent database).
        try reader.exec("BEGIN")
        do {
            let maxSeq = Int(try reader.scalarText("SELECT coalesce(max(seq), -1) FROM traces") ?? "") ?? -1
            let stored = try readRowsLocked(sql, args)
            try reader.exec("COMMIT")
            return stored + unsynced.filter { $0.record.seq > maxSeq }.map(\.trace)
        } catch {
            try? reader.exec("ROLLBACK")
            throw error
        }
    }

    private func readRows(_ sql: String, _ args: [SQLiteValue]) throws(AuditStoreError) -> [ActionTrace] {
        readerLock.lock()
        defer { readerLock.unlock() }
        return try readRowsLocked(sql, args)
    }

    /// `readRows` for a caller that holds `readerLock`.
    private func readRowsLocked(_ sql: String, _ args: [SQLiteValue]) throws(AuditStoreError) -> [ActionTrace] {
        let s: SQLiteStatement
        if let cached = readerStatements[sql] {
            s = cached
        } else {
            s = try reader.prepare(sql)
            readerStatements[sql] = s
        }
        // Reset on every exit, so a cached statement never holds the read snapshot open.
        defer { s.reset() }
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
        defer {
            cond.lock()
            queue.writerDone = true
            cond.broadcast()
            cond.unlock()
            stopped.signal()
        }
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
                if case .batch(let ms) = durability {
                    let now = DispatchTime.now().uptimeNanoseconds
                    if now - lastSync >= UInt64(ms) * 1_000_000 {
                        try writer.exec("PRAGMA wal_checkpoint(PASSIVE)")  // fsyncs the WAL
                        lastSync = now
                    }
                }
            } catch {
                try? writer.exec("ROLLBACK")
                dropUnwritten(error.message)
                continue
            }
            cond.lock()
            queue.written = max(queue.written, target)
            queue.inFlight = []  // on disk now: the reader finds them there
            queue.spendsInFlight = [:]
            var ready: [CheckedContinuation<String?, Never>] = []
            if durability == .fsync {
                cond.broadcast()  // a sync thread takes it from here
            } else {
                ready = markDurableLocked(target)
            }
            cond.unlock()
            for k in ready { k.resume(returning: nil) }
            enforceRetention(&lastPrune)
        }
    }

    /// Raises the durable generation and takes the waiters it satisfies (under `cond`).
    private func markDurableLocked(_ generation: Int) -> [CheckedContinuation<String?, Never>] {
        queue.durable = max(queue.durable, generation)
        let durable = queue.durable
        var ready: [CheckedContinuation<String?, Never>] = []
        queue.waiters.removeAll { w in
            if w.target <= durable { ready.append(w.resume); return true }
            return false
        }
        return ready
    }

    /// A sync thread (`.fsync`): claims everything written so far, fsyncs the WAL, and makes
    /// what it claimed durable. An fsync error stops the store for good: after a failed fsync
    /// the kernel may have dropped the dirty pages, so nothing written can be trusted.
    private func syncLoop() {
        defer { stopped.signal() }
        while true {
            cond.lock()
            while queue.written <= queue.syncClaimed && !queue.writerDone && queue.failure == nil { cond.wait() }
            if queue.failure != nil || (queue.written <= queue.syncClaimed && queue.writerDone) {
                cond.unlock()
                return
            }
            let claim = queue.written
            queue.syncClaimed = claim
            let fd: Int32
            do {
                fd = try walDescriptorLocked()
            } catch {
                cond.unlock()
                fail(error.message)
                return
            }
            cond.unlock()
            if fsync(fd) != 0 {
                fail("\(path)-wal: fsync failed: errno \(errno)")
                return
            }
            cond.lock()
            let ready = markDurableLocked(claim)
            cond.unlock()
            for k in ready { k.resume(returning: nil) }
        }
    }

    /// The WAL's descriptor, reopened if the file was replaced; on first open the directory is
    /// fsynced too, so the WAL's own name survives a power loss (SQLite's FULL does the same).
    private func walDescriptorLocked() throws(AuditStoreError) -> Int32 {
        let wal = path + "-wal"
        var st = stat()
        guard stat(wal, &st) == 0 else { throw AuditStoreError("\(wal): cannot stat the WAL: errno \(errno)") }
        if walFD >= 0 && walInode == (UInt64(st.st_dev), UInt64(st.st_ino)) { return walFD }
        if walFD >= 0 { Glibc.close(walFD) }
        walFD = open(wal, O_RDONLY | O_CLOEXEC)
        guard walFD >= 0 else { throw AuditStoreError("\(wal): cannot open the WAL: errno \(errno)") }
        walInode = (UInt64(st.st_dev), UInt64(st.st_ino))
        let dir = (path as NSString).deletingLastPathComponent
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw AuditStoreError("\(dir): cannot open the directory: errno \(errno)") }
        defer { Glibc.close(dfd) }
        guard fsync(dfd) == 0 else { throw AuditStoreError("\(dir): directory fsync failed: errno \(errno)") }
        return walFD
    }

    /// Between batches, after the waiters are answered: `max_bytes` after every commit (three
    /// header reads unless over), `retain_days` at most once a minute. A failed prune deletes
    /// nothing (one transaction), is kept in `retentionError` and is retried next time; it
    /// never fails a record, which is already durable.
    private func enforceRetention(_ lastPrune: inout UInt64) {
        guard let retention else { return }
        do {
            if let bytes = retention.maxBytes {
                try pruneWithCacheOff { () throws(AuditStoreError) in try AuditRetention.pruneToSize(writer, maxBytes: bytes) }
            }
            if let days = retention.retainDays, DispatchTime.now().uptimeNanoseconds - lastPrune >= 60_000_000_000 {
                let now = clock.now()
                try pruneWithCacheOff { () throws(AuditStoreError) in
                    try AuditRetention.prune(writer, now: now, retainDays: days)
                }
                lastPrune = DispatchTime.now().uptimeNanoseconds
            }
            cond.lock()
            queue.retentionError = nil
            cond.unlock()
        } catch {
            cond.lock()
            queue.retentionError = error.message
            cond.unlock()
        }
    }

    /// The last pruning failure, nil once a prune succeeds again.
    public var retentionError: String? { cond.lock(); defer { cond.unlock() }; return queue.retentionError }

    /// A failed commit: everything not on disk is dropped and its waiters learn why; the
    /// chain head is re-read from the file (the transaction was rolled back), so the next
    /// record links to the last durable one. If even that read fails, stop for good.
    private func dropUnwritten(_ message: String) {
        let head: (seq: Int, hash: String)
        do {
            head = try Self.durableHead(writer)
        } catch {
            fail(message + "; then the chain head could not be re-read: " + error.message)
            return
        }
        cond.lock()
        let why = "commit failed: \(message)"
        let waiters = queue.dropUnwritten()
        queue.nextSeq = head.seq + 1
        queue.lastHash = head.hash
        queue.durable = queue.accepted  // resolved: every generation so far is durable or lost
        queue.written = max(queue.written, queue.accepted)
        queue.syncClaimed = max(queue.syncClaimed, queue.accepted)  // no one waits on these
        queue.lostThrough = queue.accepted
        queue.lastLoss = why
        cond.unlock()
        for w in waiters { w.resume.resume(returning: why) }
    }

    /// The last record on disk (seq, record_hash), else the checkpoint (next seq - 1, hash).
    private static func durableHead(_ db: SQLiteConnection) throws(AuditStoreError) -> (seq: Int, hash: String) {
        let s = try db.prepare("SELECT seq, record_hash FROM traces ORDER BY seq DESC LIMIT 1")
        try s.bind([])
        if try s.step(), let hash = s.text(1) { return (s.int(0), hash) }
        let cp = try AuditFile.checkpoint(db)
        return (cp.nextSeq - 1, cp.hash)
    }

    /// Fails closed for good: no further record is accepted and every waiter learns why.
    private func fail(_ message: String, batch: Int = 0) {
        cond.lock()
        if queue.failure == nil { queue.failure = "commit failed: \(message)" }
        let failure = queue.failure
        let waiters = queue.dropUnwritten()
        cond.broadcast()  // the sync threads stop
        cond.unlock()
        for w in waiters { w.resume.resume(returning: failure) }
    }
}
