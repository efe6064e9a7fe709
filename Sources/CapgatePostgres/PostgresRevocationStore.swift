import AgentKernel
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The revocation list of a sidecar fleet, in PostgreSQL (docs/deployment.md).
///
/// Shape: `isRevoked` reads a local set (verification never waits on the network). Writes
/// (`track`, `revoke`, `revoke_all`) go, in order, through one writer thread with its own
/// connection; `revokeShared`/`revokeAllShared`/`waitUntilShared` resume their caller once
/// the write committed. A revoke's transaction also does `pg_notify`, delivered at commit to
/// every sidecar's listener thread, which adds the token to its local set: the propagation
/// bound is one notification (milliseconds on a LAN), well inside the 1 s the fleet promises.
///
/// Missed notifications: a listener that loses its connection marks the store unavailable
/// (the gateway then answers `store_unavailable` for every verb that verifies a token), and
/// on reconnecting runs LISTEN first, then a full reconcile, and only then is available again,
/// so no revocation committed meanwhile can be missed. While connected it also re-reads the
/// revocations of the last 30 s every `reconcileInterval` (the periodic reconcile, which is
/// also the liveness probe of a connection that died silently: the store becomes unavailable
/// when no reconcile succeeded for `3 x reconcileInterval`).
public final class PostgresRevocationStore: SharedRevocationStore, @unchecked Sendable {
    // @unchecked: `queue` only under `cond`; `local` is a Mutex; each connection is confined
    // to its thread.
    static let channel = "capgate_revocations"

    private enum Op {
        case track(principalID: String, tokenID: String, expiresAt: Timestamp)
        case revoke(String)
        case revokeAll(String, (Result<Int, PostgresError>) -> Void)
    }

    private struct Queue {
        var pending: [Op] = []
        var accepted = 0
        var done = 0
        var closing = false
        var waiters: [(target: Int, resume: CheckedContinuation<PostgresError?, Never>)] = []
        /// Recent failed batches (ops `from+1...upTo`), for waiters that arrive after the fact.
        var failures: [(from: Int, upTo: Int, error: PostgresError)] = []
        func failure(for target: Int) -> PostgresError? {
            failures.last(where: { target > $0.from && target <= $0.upTo })?.error
        }
    }

    private struct Sync {
        var connected = false
        var reconciled = false
        var lastSync: UInt64 = 0
    }

    public let settings: PostgresSettings
    public let reconcileInterval: Duration
    private let clock: any KernelClock
    private let local = Mutex(Set<String>())
    private let sync = Mutex(Sync())
    private let cond = NSCondition()
    private var queue = Queue()
    private let stopping = Atomic<Bool>(false)
    private let threadsDone = DispatchSemaphore(value: 0)

    /// Starts the writer and the listener. Does not wait for the first reconcile: the store
    /// is unavailable until then (`waitUntilAvailable`).
    public init(settings: PostgresSettings, reconcileInterval: Duration = .seconds(1),
                clock: any KernelClock = SystemClock()) {
        self.settings = settings
        self.reconcileInterval = reconcileInterval
        self.clock = clock
        let w = Thread { [self] in writerLoop(); threadsDone.signal() }
        w.name = "capgate-pg-revocations-writer"
        w.start()
        let l = Thread { [self] in listenerLoop(); threadsDone.signal() }
        l.name = "capgate-pg-revocations-listener"
        l.start()
    }

    /// Stops both threads (pending writes are attempted first).
    public func close() {
        guard !stopping.exchange(true, ordering: .sequentiallyConsistent) else { return }
        cond.lock()
        queue.closing = true
        cond.signal()
        cond.unlock()
        threadsDone.wait()
        threadsDone.wait()
    }

    // MARK: - RevocationStore

    public func isRevoked(_ tokenID: String) -> Bool { local.withLock { $0.contains(tokenID) } }

    public func revoke(_ tokenID: String) {
        local.withLock { _ = $0.insert(tokenID) }
        enqueue(.revoke(tokenID))
    }

    public func track(principalID: String, tokenID: String, expiresAt: Timestamp) {
        enqueue(.track(principalID: principalID, tokenID: tokenID, expiresAt: expiresAt))
    }

    /// Synchronous callers (the in-process kernel API) cannot wait for the shared count; the
    /// gateway uses `revokeAllShared`. This one queues the shared revoke_all and returns 0.
    public func revokeAll(principalID: String) -> Int {
        enqueue(.revokeAll(principalID, { _ in }))
        return 0
    }

    /// Expired rows are deleted in PostgreSQL by the listener (once a minute); the local set
    /// only grows until restart (one entry per revocation seen).
    public func sweep(now: Timestamp) -> Int { 0 }

    // MARK: - SharedRevocationStore

    public var isAvailable: Bool {
        let s = sync.withLock { $0 }
        let stale = UInt64(Self.nanos(reconcileInterval)) * 3
        return s.connected && s.reconciled && DispatchTime.now().uptimeNanoseconds - s.lastSync < stale
    }

    public func revokeShared(_ tokenID: String) async throws {
        local.withLock { _ = $0.insert(tokenID) }
        if let e = await waitFor(enqueue(.revoke(tokenID))) { throw e }
    }

    public func revokeAllShared(principalID: String) async throws -> Int {
        let result: Result<Int, PostgresError> = await withCheckedContinuation { k in
            enqueue(.revokeAll(principalID, { k.resume(returning: $0) }))
        }
        return try result.get()
    }

    public func waitUntilShared() async throws {
        if let e = await waitFor(acceptedCount()) { throw e }
    }

    private func acceptedCount() -> Int {
        cond.lock()
        defer { cond.unlock() }
        return queue.accepted
    }

    /// Blocks (start-up only, never on a loop) until the first reconcile or `timeout`.
    public func waitUntilAvailable(timeout: Duration) -> Bool {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(Self.nanos(timeout))
        while DispatchTime.now().uptimeNanoseconds < deadline {
            if isAvailable { return true }
            usleep(10_000)
        }
        return isAvailable
    }

    // MARK: - Writer

    @discardableResult
    private func enqueue(_ op: Op) -> Int {
        cond.lock()
        defer { cond.unlock() }
        if queue.closing {
            if case .revokeAll(_, let done) = op { done(.failure(PostgresError("the store is closed"))) }
            return queue.accepted
        }
        queue.pending.append(op)
        queue.accepted += 1
        cond.signal()
        return queue.accepted
    }

    private func waitFor(_ target: Int) async -> PostgresError? {
        await withCheckedContinuation { (k: CheckedContinuation<PostgresError?, Never>) in
            cond.lock()
            if queue.done >= target {
                let e = queue.failure(for: target)
                cond.unlock()
                k.resume(returning: e)
            } else {
                queue.waiters.append((target, k))
                cond.unlock()
            }
        }
    }

    private func writerLoop() {
        var conn: PostgresConnection?
        var backoff: UInt64 = 0
        while true {
            cond.lock()
            while queue.pending.isEmpty && !queue.closing { cond.wait() }
            if queue.pending.isEmpty {
                cond.unlock()
                return
            }
            let batch = queue.pending
            queue.pending = []
            let start = queue.done
            cond.unlock()
            var failure: PostgresError?
            var counts: [Int] = []
            do throws(PostgresError) {
                if conn == nil || conn?.isConnected == false {
                    conn = nil
                    conn = try PostgresConnection(settings)
                }
                counts = try conn!.transaction { (c) throws(PostgresError) in try batch.map { op throws(PostgresError) in try apply(op, c) } }
                backoff = 0
            } catch {
                failure = error
                if conn?.isConnected == false { conn = nil }
            }
            for (i, op) in batch.enumerated() {
                if case .revokeAll(_, let done) = op { done(failure.map { .failure($0) } ?? .success(counts[i])) }
            }
            cond.lock()
            queue.done = start + batch.count
            if let failure {
                queue.failures.append((start, queue.done, failure))
                if queue.failures.count > 64 { queue.failures.removeFirst() }
            }
            let done = queue.done
            var ready: [(Int, CheckedContinuation<PostgresError?, Never>)] = []
            queue.waiters.removeAll { w in
                if w.target <= done { ready.append((w.target, w.resume)); return true }
                return false
            }
            let errors = ready.map { queue.failure(for: $0.0) }
            cond.unlock()
            for (i, w) in ready.enumerated() { w.1.resume(returning: errors[i]) }
            if failure != nil {
                // Back off before the next batch, so an unreachable server is not hammered.
                backoff = min(max(backoff * 2, 50_000_000), 2_000_000_000)
                usleep(useconds_t(backoff / 1000))
            }
        }
    }

    /// One op's statements; returns revoke_all's count (0 otherwise).
    private func apply(_ op: Op, _ c: PostgresConnection) throws(PostgresError) -> Int {
        switch op {
        case .track(let pid, let tid, let exp):
            try c.query("INSERT INTO capgate_issued_tokens (token_id, principal_id, expires_at) "
                        + "VALUES ($1, $2, to_timestamp($3::double precision)) ON CONFLICT (token_id) DO NOTHING",
                        [tid, pid, String(exp.secondsSinceEpoch)])
            return 0
        case .revoke(let tid):
            try c.query("INSERT INTO capgate_revocations (token_id, expires_at) "
                        + "VALUES ($1, (SELECT expires_at FROM capgate_issued_tokens WHERE token_id = $1)) "
                        + "ON CONFLICT (token_id) DO NOTHING", [tid])
            try c.query("SELECT pg_notify($1, $2)", [Self.channel, tid])
            return 0
        case .revokeAll(let pid, _):
            let r = try c.query("""
                WITH gone AS (DELETE FROM capgate_issued_tokens WHERE principal_id = $1 RETURNING token_id, expires_at)
                INSERT INTO capgate_revocations (token_id, expires_at) SELECT token_id, expires_at FROM gone
                ON CONFLICT (token_id) DO NOTHING RETURNING token_id
                """, [pid])
            for row in r.rows { if let t = row[0] { local.withLock { _ = $0.insert(t) } } }
            // Ids do not fit one notification (8000 bytes): "*" asks every listener to re-read.
            if !r.rows.isEmpty { try c.query("SELECT pg_notify($1, '*')", [Self.channel]) }
            return r.rows.count
        }
    }

    // MARK: - Listener

    private func listenerLoop() {
        var backoff: UInt64 = 0
        while !stopping.load(ordering: .relaxed) {
            do throws(PostgresError) {
                let c = try PostgresConnection(settings)
                try c.execute("LISTEN \(Self.channel)")  // constant channel name
                try reconcile(c, full: true)  // after LISTEN: nothing committed meanwhile is missed
                sync.withLock { $0.connected = true; $0.reconciled = true }
                backoff = 0
                try listen(c)
            } catch {
                sync.withLock { $0.connected = false; $0.reconciled = false }
                if stopping.load(ordering: .relaxed) { return }
                backoff = min(max(backoff * 2, 50_000_000), 1_000_000_000)
                usleep(useconds_t(backoff / 1000))
            }
        }
        sync.withLock { $0.connected = false }
    }

    private func listen(_ c: PostgresConnection) throws(PostgresError) {
        var nextReconcile = DispatchTime.now().uptimeNanoseconds + UInt64(Self.nanos(reconcileInterval))
        var nextFull = DispatchTime.now().uptimeNanoseconds + 60_000_000_000
        while !stopping.load(ordering: .relaxed) {
            var pfd = pollfd(fd: c.socket, events: Int16(POLLIN), revents: 0)
            _ = poll(&pfd, 1, 50)
            var rereadAll = false
            for n in try c.notifications() where n.channel == Self.channel {
                if n.payload == "*" { rereadAll = true } else { local.withLock { _ = $0.insert(n.payload) } }
            }
            let now = DispatchTime.now().uptimeNanoseconds
            if rereadAll || now >= nextReconcile {
                let full = now >= nextFull
                try reconcile(c, full: full)
                if full {
                    try c.query("DELETE FROM capgate_revocations WHERE expires_at <= now()")
                    try c.query("DELETE FROM capgate_issued_tokens WHERE expires_at <= now()")
                    nextFull = now + 60_000_000_000
                }
                nextReconcile = now + UInt64(Self.nanos(reconcileInterval))
            }
        }
    }

    /// Adds every revocation in PostgreSQL (`full`) or those of the last 30 s to the local set.
    private func reconcile(_ c: PostgresConnection, full: Bool) throws(PostgresError) {
        let rows = try c.query("SELECT token_id FROM capgate_revocations WHERE "
                               + (full ? "true" : "revoked_at >= now() - interval '30 seconds'")).rows
        local.withLock { set in for r in rows { if let t = r[0] { set.insert(t) } } }
        sync.withLock { $0.lastSync = DispatchTime.now().uptimeNanoseconds }
    }

    static func nanos(_ d: Duration) -> Int64 {
        d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
    }
}
