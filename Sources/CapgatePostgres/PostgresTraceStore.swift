import AgentKernel
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The audit trail of a fleet in PostgreSQL (docs/deployment.md): one hash chain per sidecar
/// run (`capgate_traces.chain`), each chained exactly like the SQLite file (docs/audit.md:
/// seq, prev_hash, HMAC of the canonical export shape with the kernel secret), so several
/// writers never contend for one chain head. `capgate audit verify --config` verifies every
/// chain; `explain`/`query_traces` read every sidecar's records (`fetch`, `search`).
///
/// Threads and durability as in `SQLiteTraceStore`: `record` chains in memory under a short
/// lock and queues; one writer thread with its own connection commits everything queued in
/// one transaction and resumes the waiters. Unlike the file store, a failed commit is not
/// final: PostgreSQL may come back. The batch stays queued, in chain order, and is retried
/// with back-off, while the waiters of that moment fail (`audit_unavailable`: not
/// acknowledged; the record may still land later, never out of order).
///
/// Retention (`[audit] retain_days` / `max_bytes`): a thread of its own prunes every chain
/// now and then (`PostgresAuditRetention`), never the writer, so a prune delays a commit at
/// most by one chain cut (the row lock both take).
public final class PostgresTraceStore: TraceStoring, @unchecked Sendable {
    // @unchecked: `queue` only under `cond`, `retentionState` only under `retentionCond`; each
    // connection is confined to its thread.
    private struct Pending {
        let record: AuditRecord
        let trace: ActionTrace
        let payload: String
    }

    private struct Queue {
        var nextSeq = 1
        var lastHash = AuditChain.genesisHash
        var pending: [Pending] = []
        var inFlight: [Pending] = []
        var accepted = 0
        var durable = 0
        var closing = false
        var waiters: [(target: Int, resume: CheckedContinuation<String?, Never>)] = []
    }

    /// This run's chain.
    public let chainID = UUID().uuidString.lowercased()
    public let settings: PostgresSettings
    private let chain: AuditChain
    private let cond = NSCondition()
    private var queue = Queue()
    private let pool: PostgresPool
    private let stopped = DispatchSemaphore(value: 0)
    public let retention: PostgresAuditRetention?
    private let clock: any KernelClock
    /// The retention thread's own condition and state (`cond` is the writer's: a shared one
    /// would let `record`'s signal wake the wrong thread).
    private let retentionCond = NSCondition()
    private var retentionState = (error: String?.none, pruned: 0, closing: false)

    /// `retention` starts the pruning thread; `clock` is its notion of now (`retain_days`).
    public init(settings: PostgresSettings, secret: String, retention: PostgresAuditRetention? = nil,
                clock: any KernelClock = SystemClock()) {
        self.settings = settings
        self.retention = retention
        self.clock = clock
        chain = AuditChain(secret: secret)
        pool = PostgresPool(PostgresSettings(dsn: settings.dsn, password: settings.password, poolSize: 1))
        let t = Thread { [self] in writerLoop(); stopped.signal() }
        t.name = "capgate-pg-audit-writer"
        t.start()
        if let retention {
            let r = Thread { [self] in retentionLoop(retention); stopped.signal() }
            r.name = "capgate-pg-audit-retention"
            r.start()
        }
    }

    /// Drains what can be written, then stops the writer.
    public func close() {
        cond.lock()
        let was = queue.closing
        queue.closing = true
        cond.broadcast()
        cond.unlock()
        retentionCond.lock()
        retentionState.closing = true
        retentionCond.broadcast()
        retentionCond.unlock()
        if !was {
            stopped.wait()
            if retention != nil { stopped.wait() }
        }
        pool.close()
    }

    public func record(_ trace: ActionTrace) {
        let exported = trace.exportJSON
        let payload = exported.serialized(.pythonDefault)
        let canonical = exported.serializedBytes(.canonical)
        cond.lock()
        defer { cond.unlock() }
        guard !queue.closing else { return }
        let hash = chain.recordHash(seq: queue.nextSeq, prevHash: queue.lastHash, canonicalTrace: canonical)
        let rec = AuditRecord(seq: queue.nextSeq, prevHash: queue.lastHash, recordHash: hash, trace: exported)
        queue.nextSeq += 1
        queue.lastHash = hash
        queue.pending.append(Pending(record: rec, trace: trace, payload: payload))
        queue.accepted += 1
        cond.signal()
    }

    public func waitUntilDurable() async throws(KernelError) {
        let failure: String? = await withCheckedContinuation { (k: CheckedContinuation<String?, Never>) in
            cond.lock()
            if queue.durable >= queue.accepted {
                cond.unlock()
                k.resume(returning: nil)
            } else {
                queue.waiters.append((queue.accepted, k))
                cond.unlock()
            }
        }
        if let failure { throw KernelError(.agentKernelError, "audit store unavailable: \(failure)") }
    }

    // MARK: - Reads: the whole fleet's records

    /// The trace `actionID` from any sidecar (this one's uncommitted records included).
    public func fetch(_ actionID: String) async throws -> ActionTrace? {
        if let t = unsynced().first(where: { PyString.equal($0.actionID, actionID) }) { return t }
        let rows = try await pool.run { c throws(PostgresError) in
            try c.query("SELECT payload FROM capgate_traces WHERE action_id = $1", [actionID]).rows
        }
        return try rows.first.map { try Self.decode($0[0]) }
    }

    /// Every sidecar's traces answering `q` (TraceQuery semantics); principal and capability
    /// filters are pushed down to the indexes.
    public func search(_ q: TraceQuery) async throws -> [ActionTrace] {
        var clauses: [String] = [], args: [String?] = []
        if let p = q.principalID { args.append(p); clauses.append("principal_id = $\(args.count)") }
        if let c = q.capabilityID { args.append(c); clauses.append("capability_id = $\(args.count)") }
        let sql = "SELECT payload FROM capgate_traces" + (clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND "))
        let stored = try await pool.run { [args] c throws(PostgresError) in try c.query(sql, args).rows }
        var seen = Set<String>()
        var out: [ActionTrace] = []
        for r in stored {
            let t = try Self.decode(r[0])
            if seen.insert(t.actionID).inserted { out.append(t) }
        }
        for t in unsynced() where seen.insert(t.actionID).inserted { out.append(t) }
        return try q.apply(to: out)
    }

    static func decode(_ payload: String?) throws -> ActionTrace {
        guard let payload else { throw PostgresError("a trace row without payload") }
        return try ActionTrace(exported: try JSONParser.parse(payload))
    }

    // The synchronous reads of the seam serve this sidecar's uncommitted records only: the
    // gateway reads the fleet's records through `fetch`/`search`, never blocking a thread.
    public func get(_ actionID: String) throws(KernelError) -> ActionTrace {
        guard let t = unsynced().first(where: { PyString.equal($0.actionID, actionID) }) else {
            throw KernelError(.agentKernelError, "No action trace found for action_id=\(PyString.repr(actionID)).",
                              site: .traceNotFound)
        }
        return t
    }
    public func list() -> [ActionTrace] { unsynced() }
    public func query(_ q: TraceQuery) throws(KernelError) -> [ActionTrace] { try q.apply(to: unsynced()) }

    private func unsynced() -> [ActionTrace] {
        cond.lock()
        defer { cond.unlock() }
        return (queue.inFlight + queue.pending).map(\.trace)
    }

    // MARK: - Verification (`capgate audit verify --config`)

    /// Verifies every chain in the database, each from its checkpoint (genesis when it was
    /// never pruned); the first bad chain's result, or the total. One snapshot (repeatable
    /// read), so a prune committing meanwhile is seen wholly or not at all.
    public static func verifyAll(_ c: PostgresConnection, secret: String) throws(PostgresError)
        -> (AuditChainVerification, chains: Int) {
        let chain = AuditChain(secret: secret)
        let (rows, checkpoints) = try c.transaction { (c) throws(PostgresError) in
            try c.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            let rows = try c.query("SELECT chain, seq, prev_hash, record_hash, payload FROM capgate_traces ORDER BY chain, seq").rows
            return (rows, try Self.checkpoints(c))
        }
        var byChain: [(String, [AuditRecord])] = []
        for r in rows {
            guard let id = r[0], let seq = r[1].flatMap({ Int($0) }), let prev = r[2], let hash = r[3],
                  let payload = r[4], let trace = try? JSONParser.parse(payload) else {
                return (AuditChainVerification(ok: false, recordsChecked: 0, firstBadSeq: r[1].flatMap { Int($0) },
                                               detail: "Corrupted row in chain \(r[0] ?? "?")."), byChain.count)
            }
            if byChain.last?.0 != id { byChain.append((id, [])) }
            byChain[byChain.count - 1].1.append(AuditRecord(seq: seq, prevHash: prev, recordHash: hash, trace: trace))
        }
        var total = 0
        for (id, records) in byChain {
            let cp = checkpoints[id] ?? (AuditChain.genesisHash, 1)
            // The first retained record must be the checkpoint's: a prefix deleted beyond it (or
            // a chain's row deleted with its first records) is a gap, not a prune.
            if let first = records.first, first.seq != cp.nextSeq {
                return (AuditChainVerification(
                    ok: false, recordsChecked: 1, firstBadSeq: first.seq,
                    detail: "chain \(id): Non-contiguous sequence at position 1: expected seq \(cp.nextSeq), found "
                        + "\(first.seq) (insertion, deletion, or reorder)."), byChain.count)
            }
            var v = chain.verify(records, genesis: cp.hash)
            if !v.ok {
                v.detail = "chain \(id): " + v.detail
                return (v, byChain.count)
            }
            total += v.recordsChecked
        }
        return (AuditChainVerification(ok: true, recordsChecked: total, firstBadSeq: nil,
                                       detail: "Verified \(total) record(s) in \(byChain.count) chain(s)."), byChain.count)
    }

    /// Every chain's checkpoint: (hash the first retained record links to, its seq).
    static func checkpoints(_ c: PostgresConnection) throws(PostgresError) -> [String: (hash: String, nextSeq: Int)] {
        var out: [String: (hash: String, nextSeq: Int)] = [:]
        // A database no sidecar of this release has migrated yet was never pruned.
        guard try c.query("SELECT to_regclass('capgate_trace_chains') IS NOT NULL").first?[0] == "t" else { return out }
        for r in try c.query("SELECT chain, checkpoint_hash, checkpoint_next_seq FROM capgate_trace_chains").rows {
            guard let id = r[0], let hash = r[1], let next = r[2].flatMap({ Int($0) }) else {
                throw PostgresError("corrupted checkpoint row of chain \(r[0] ?? "?")")
            }
            out[id] = (hash, next)
        }
        return out
    }

    /// One stored record of the fleet's trail, for `capgate audit list|show|export --config`.
    public struct FleetRecord: Sendable {
        public let chain: String
        public let seq: Int
        public let trace: ActionTrace
    }

    /// Every record of every chain, oldest first by `invoked_at` (ties: chain, seq), so the
    /// sidecars' records interleave as they happened; a corrupted payload names its chain and seq.
    public static func fleetRecords(_ c: PostgresConnection) throws(PostgresError) -> [FleetRecord] {
        var out: [FleetRecord] = []
        for r in try c.query("SELECT chain, seq, payload FROM capgate_traces ORDER BY chain, seq").rows {
            let chain = r[0] ?? "?", seq = r[1].flatMap { Int($0) } ?? 0
            do {
                out.append(FleetRecord(chain: chain, seq: seq, trace: try decode(r[2])))
            } catch {
                throw PostgresError("corrupted trace payload in chain \(chain) at seq \(seq): \(error)")
            }
        }
        // Timestamps compared as instants, not text; the sort is stable on (chain, seq).
        return out.enumerated().sorted { a, b in
            a.element.trace.invokedAt != b.element.trace.invokedAt
                ? a.element.trace.invokedAt < b.element.trace.invokedAt : a.offset < b.offset
        }.map(\.element)
    }

    // MARK: - The writer thread

    /// One batch's statements. The chain's row is locked first (created from the batch's first
    /// link when missing: a new chain, or one retention emptied), so a prune's cut of this
    /// chain runs wholly before or after; records at or below its checkpoint are never
    /// written (a batch retried after its COMMIT was lost may have been pruned meanwhile), and
    /// the counts retention sums grow by what was really inserted.
    private func commit(_ batch: [Pending], _ c: PostgresConnection) throws(PostgresError) {
        guard let first = batch.first else { return }
        let next = try c.query("""
            INSERT INTO capgate_trace_chains (chain, checkpoint_hash, checkpoint_next_seq) VALUES ($1, $2, $3::bigint)
            ON CONFLICT (chain) DO UPDATE SET records = capgate_trace_chains.records RETURNING checkpoint_next_seq
            """, [chainID, first.record.prevHash, String(first.record.seq)]).first?[0].flatMap { Int($0) } ?? 1
        var inserted = 0, bytes = 0
        for p in batch where p.record.seq >= next {
            let r = try c.query("INSERT INTO capgate_traces (chain, seq, action_id, prev_hash, record_hash, "
                                + "invoked_at, principal_id, capability_id, payload) "
                                + "VALUES ($1, $2::bigint, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING "
                                + "RETURNING octet_length(payload)",
                                [chainID, String(p.record.seq), p.trace.actionID, p.record.prevHash,
                                 p.record.recordHash, p.trace.invokedAt.isoformat, p.trace.principalID,
                                 p.trace.capabilityID, p.payload])
            if let n = r.first?[0].flatMap({ Int($0) }) {
                inserted += 1
                bytes += n + PostgresAuditRetention.recordOverhead
            }
        }
        if inserted > 0 {
            try c.query("UPDATE capgate_trace_chains SET records = records + $2::bigint, live_bytes = live_bytes + $3::bigint "
                        + "WHERE chain = $1", [chainID, String(inserted), String(bytes)])
        }
    }

    /// The last prune's failure (nil after a success): retention never fails a record.
    public var retentionError: String? { retentionCond.lock(); defer { retentionCond.unlock() }; return retentionState.error }
    /// Records this sidecar's prunes deleted (any chain).
    public var prunedCount: Int { retentionCond.lock(); defer { retentionCond.unlock() }; return retentionState.pruned }

    /// Prunes at start, then by size every second (`max_bytes`: the fleet may write past it for
    /// about that long) and by age every minute (`retain_days`), until `close`.
    private func retentionLoop(_ retention: PostgresAuditRetention) {
        var link = PostgresLink(settings)
        var lastAge: UInt64?
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            let ageDue = lastAge.map { now - $0 >= 60_000_000_000 } ?? true
            var round = PostgresAuditRetention(maxBytes: retention.maxBytes)
            if ageDue { round.retainDays = retention.retainDays }
            var result: Result<Int?, PostgresError>
            if round.retainDays == nil && round.maxBytes == nil {
                result = .success(0)
            } else {
                do throws(PostgresError) {
                    result = .success(try round.prune(try link.connection(), now: clock.now()))
                } catch {
                    result = .failure(error)
                    link.dropIfLost()
                }
            }
            retentionCond.lock()
            switch result {
            case .success(let n):
                retentionState.error = nil
                retentionState.pruned += n ?? 0
                // Skipped (another sidecar held the lock): the age prune is due again next time.
                if ageDue && n != nil { lastAge = now }
            case .failure(let e): retentionState.error = e.description
            }
            let wait = retention.maxBytes != nil ? 1.0 : 5.0
            if !retentionState.closing { _ = retentionCond.wait(until: Date(timeIntervalSinceNow: wait)) }
            let closing = retentionState.closing
            retentionCond.unlock()
            if closing { return }
        }
    }

    private func writerLoop() {
        var link = PostgresLink(settings)
        var backoff: UInt64 = 0
        while true {
            cond.lock()
            while queue.pending.isEmpty && !queue.closing { cond.wait() }
            if queue.pending.isEmpty || (queue.closing && backoff > 0) {  // drained, or closing while down
                cond.unlock()
                return
            }
            let batch = queue.pending
            queue.pending = []
            queue.inFlight = batch
            cond.unlock()
            var failure: PostgresError?
            do throws(PostgresError) {
                try link.idempotentTransaction { (c) throws(PostgresError) in try commit(batch, c) }
            } catch {
                failure = error
                link.dropIfLost()
            }
            cond.lock()
            var ready: [CheckedContinuation<String?, Never>] = []
            if let failure {
                // Keep the batch first in line, in chain order; its waiters are not acknowledged.
                queue.pending = batch + queue.pending
                queue.inFlight = []
                ready = queue.waiters.map(\.resume)
                queue.waiters = []
                cond.unlock()
                for k in ready { k.resume(returning: failure.description) }
                backoff = PostgresLink.nextBackoff(after: backoff, cap: 1_000_000_000)
                usleep(useconds_t(backoff / 1000))
                continue
            }
            backoff = 0
            queue.durable += batch.count
            queue.inFlight = []
            let durable = queue.durable
            queue.waiters.removeAll { w in
                if w.target <= durable { ready.append(w.resume); return true }
                return false
            }
            cond.unlock()
            for k in ready { k.resume(returning: nil) }
        }
    }
}
