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
public final class PostgresTraceStore: TraceStoring, @unchecked Sendable {
    // @unchecked: `queue` only under `cond`; the connection is confined to the writer.
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

    public init(settings: PostgresSettings, secret: String) {
        self.settings = settings
        chain = AuditChain(secret: secret)
        pool = PostgresPool(PostgresSettings(dsn: settings.dsn, password: settings.password, poolSize: 1))
        let t = Thread { [self] in writerLoop(); stopped.signal() }
        t.name = "capgate-pg-audit-writer"
        t.start()
    }

    /// Drains what can be written, then stops the writer.
    public func close() {
        cond.lock()
        let was = queue.closing
        queue.closing = true
        cond.broadcast()
        cond.unlock()
        if !was { stopped.wait() }
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

    /// Verifies every chain in the database; the first bad chain's result, or the total.
    public static func verifyAll(_ c: PostgresConnection, secret: String) throws(PostgresError)
        -> (AuditChainVerification, chains: Int) {
        let chain = AuditChain(secret: secret)
        let rows = try c.query("SELECT chain, seq, prev_hash, record_hash, payload FROM capgate_traces ORDER BY chain, seq").rows
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
            var v = chain.verify(records)
            if !v.ok {
                v.detail = "chain \(id): " + v.detail
                return (v, byChain.count)
            }
            total += v.recordsChecked
        }
        return (AuditChainVerification(ok: true, recordsChecked: total, firstBadSeq: nil,
                                       detail: "Verified \(total) record(s) in \(byChain.count) chain(s)."), byChain.count)
    }

    // MARK: - The writer thread

    private func writerLoop() {
        var conn: PostgresConnection?
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
                for attempt in 0..<2 {
                    if conn == nil || conn?.isConnected == false { conn = nil; conn = try PostgresConnection(settings) }
                    do {
                        try conn!.transaction { (c) throws(PostgresError) in
                            for p in batch {
                                try c.query("INSERT INTO capgate_traces (chain, seq, action_id, prev_hash, record_hash, "
                                            + "invoked_at, principal_id, capability_id, payload) "
                                            + "VALUES ($1, $2::bigint, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                                            [chainID, String(p.record.seq), p.trace.actionID, p.record.prevHash,
                                             p.record.recordHash, p.trace.invokedAt.isoformat, p.trace.principalID,
                                             p.trace.capabilityID, p.payload])
                            }
                        }
                        break
                    } catch where error.connectionLost && attempt == 0 {
                        conn = nil
                    }
                }
            } catch {
                failure = error
                if conn?.isConnected == false { conn = nil }
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
                backoff = min(max(backoff * 2, 50_000_000), 1_000_000_000)
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
