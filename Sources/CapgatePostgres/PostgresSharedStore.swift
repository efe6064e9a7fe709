import AgentKernel
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The state a sidecar fleet shares in PostgreSQL (docs/deployment.md): the revocation list
/// (`SharedRevocationStore`) and the budgets' spends (`BudgetStoring`).
///
/// Budgets: each sidecar owns one row per session (`capgate_budget_spends(session, sidecar,
/// used)`, only ever raised, so concurrent writers never lose a spend: each writes its own row)
/// and a session's spend is the sum of its rows. `spent` reads a local copy of every row (kept
/// by the listener), so creating a budget manager never waits on the network; a spend is
/// written by the ordered writer and announced with `NOTIFY capgate_budgets`; a sidecar that
/// learns another's spend drops its manager for that session (`onRemoteSpend`), whose next use
/// starts from the fleet's total. Bound (documented in docs/deployment.md): a session can
/// overspend by what other sidecars had reserved in flight, plus what they reserve in the
/// notification delay (milliseconds).
///
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
public final class PostgresSharedStore: SharedRevocationStore, BudgetStoring, @unchecked Sendable {
    // @unchecked: `queue` only under `cond`; `local` is a Mutex; each connection is confined
    // to its thread.
    static let channel = "capgate_revocations"
    static let budgetChannel = "capgate_budgets"
    static let rateChannel = "capgate_rate"
    private let rateHit = Mutex<CallbackBox<@Sendable (String, Double) -> Void>?>(nil)
    /// Numbers this sidecar's rate notifications (writer thread only).
    private var rateSeq = 0
    /// This process's row in `capgate_budget_spends` (a fresh one per start: rows are summed).
    public let sidecarID = UUID().uuidString.lowercased()
    private let budgets = Mutex(Budgets())
    private let remoteSpend = Mutex<CallbackBox<@Sendable (String) -> Void>?>(nil)

    private enum Op {
        case track(principalID: String, tokenID: String, expiresAt: Timestamp)
        case revoke(String)
        case revokeAll(String, (Result<Int, PostgresError>) -> Void)
        case spend(session: String, used: Int)
        case rateHit(key: String, window: Double)
        case handle(Handle, payload: String)
    }

    private struct Budgets {
        /// session -> sidecar -> that sidecar's spend, as last read or written.
        var rows: [String: [String: Int]] = [:]
        /// The other sidecars' part of a session's spend when its manager here was created.
        var base: [String: Int] = [:]
    }

    private struct Queue {
        var pending: [Op] = []
        var accepted = 0
        var done = 0
        var closing = false
        /// An op was refused after `close` (so not everything accepted-or-refused was written).
        var refusedAny = false
        /// Set by `close`: PostgreSQL was reachable then, so the writer may retire this run's rows.
        var retireAtClose = false
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
    /// Reads on behalf of requests (handle lookups): `settings.poolSize` connections.
    private let pool: PostgresPool
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
        pool = PostgresPool(settings)
        let w = Thread { [self] in writerLoop(); threadsDone.signal() }
        w.name = "capgate-pg-revocations-writer"
        w.start()
        let l = Thread { [self] in listenerLoop(); threadsDone.signal() }
        l.name = "capgate-pg-revocations-listener"
        l.start()
    }

    /// Stops both threads. Pending writes are attempted first (unless the last attempt failed:
    /// PostgreSQL is down, and they are answered with a failure, `failPendingAtClose`), then
    /// this run's budget rows are retired (`retireSpends`). `capgate serve` calls it at a
    /// graceful shutdown, after the last request answered; a write after it fails.
    public func close() {
        // Read before the listener stops (which marks the store disconnected): the writer
        // folds only if PostgreSQL was reachable when the close began.
        let reachable = isAvailable
        guard !stopping.exchange(true, ordering: .sequentiallyConsistent) else { return }
        cond.lock()
        queue.closing = true
        queue.retireAtClose = reachable
        cond.signal()
        cond.unlock()
        threadsDone.wait()
        threadsDone.wait()
        pool.close()
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

    // MARK: - Handles

    /// Publishes a handle this sidecar stored (metadata, data, expiry) so any sidecar can
    /// expand it; returns once it is in PostgreSQL.
    public func publishHandle(_ handle: Handle, data: JSONValue) async throws {
        let payload = JSONValue.object(JSONObject([("handle", handle.json), ("data", data)])).serialized()
        if let e = await waitFor(enqueue(.handle(handle, payload: payload))) { throw e }
    }

    /// The handle `handleID` as some sidecar published it, nil when unknown (or swept).
    /// Expiry is left to the local handle store, on the kernel's clock.
    public func lookupHandle(_ handleID: String) async throws -> (Handle, JSONValue)? {
        let row = try await pool.run { c throws(PostgresError) in
            try c.query("SELECT payload FROM capgate_handles WHERE handle_id = $1", [handleID]).first
        }
        guard let text = row?[0] else { return nil }
        let json = try JSONParser.parse(text)
        guard let h = json.objectValue?["handle"], let data = json.objectValue?["data"] else {
            throw PostgresError("corrupted handle row \(handleID)")
        }
        return (try Handle(json: h), data)
    }

    // MARK: - Rate limits (PostgresRateLimiter)

    /// Called (on the listener thread) with each grant another sidecar's limiter admitted.
    public func setRateHitHandler(_ handler: @escaping @Sendable (_ key: String, _ window: Double) -> Void) {
        let box = CallbackBox(handler)
        rateHit.withLock { $0 = box }
    }

    /// Announces a grant this sidecar admitted under `key` to the others.
    public func publishRateHit(key: String, window: Double) { enqueue(.rateHit(key: key, window: window)) }

    // MARK: - BudgetStoring

    /// Called (on the listener thread) with a session another sidecar spent in.
    public func setRemoteSpendHandler(_ handler: @escaping @Sendable (String) -> Void) {
        let box = CallbackBox(handler)
        remoteSpend.withLock { $0 = box }
    }

    public func spent(session: String) throws(KernelError) -> Int {
        guard isAvailable else {
            throw KernelError(.agentKernelError, "the shared store is unreachable: budget unknown", site: .storeUnavailable)
        }
        let me = sidecarID
        return budgets.withLock { b in
            let rows = b.rows[session] ?? [:]
            let total = rows.values.reduce(0, +)
            b.base[session] = total - (rows[me] ?? 0)
            return total
        }
    }

    public func recordSpend(session: String, used: Int) {
        let me = sidecarID
        let own: Int? = budgets.withLock { b in
            let old = b.rows[session]?[me] ?? 0
            let new = max(old, used - (b.base[session] ?? 0))
            guard new != old else { return nil }
            b.rows[session, default: [:]][me] = new
            return new
        }
        if let own { enqueue(.spend(session: session, used: own)) }
    }

    public func waitUntilDurable() async throws(KernelError) {
        do {
            try await waitUntilShared()
        } catch {
            throw KernelError(.agentKernelError, "the shared store could not record a spend: \(error)", site: .storeUnavailable)
        }
    }

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
        return queue.refusedAny ? Self.refused : queue.accepted
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

    /// What `enqueue` returns for an op refused because the store is closing; waiting for it
    /// (or for everything accepted, once one was refused) reports that it was never written,
    /// where returning the last accepted op's number would report another op's success.
    static let refused = Int.min

    @discardableResult
    private func enqueue(_ op: Op) -> Int {
        cond.lock()
        defer { cond.unlock() }
        if queue.closing {
            if case .revokeAll(_, let done) = op { done(.failure(PostgresError("the store is closed"))) }
            queue.refusedAny = true
            return Self.refused
        }
        queue.pending.append(op)
        queue.accepted += 1
        cond.signal()
        return queue.accepted
    }

    private func waitFor(_ target: Int) async -> PostgresError? {
        if target == Self.refused { return PostgresError("the store is closed") }
        return await withCheckedContinuation { (k: CheckedContinuation<PostgresError?, Never>) in
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
        var link = PostgresLink(settings)
        var backoff: UInt64 = 0
        while true {
            cond.lock()
            while queue.pending.isEmpty && !queue.closing { cond.wait() }
            if queue.pending.isEmpty {
                let retire = queue.retireAtClose
                cond.unlock()
                // Not while PostgreSQL is unreachable: a shutdown must not wait out connect timeouts.
                if backoff == 0 && retire { retireSpends(&link) }
                return
            }
            if queue.closing && backoff > 0 {  // closing while down: fail the rest at once
                cond.unlock()
                failPendingAtClose()
                return
            }
            let batch = queue.pending
            queue.pending = []
            let start = queue.done
            cond.unlock()
            var failure: PostgresError?
            var counts: [Int] = []
            do throws(PostgresError) {
                // Every op is idempotent, so a batch whose COMMIT did land before the
                // connection broke is safe to apply again.
                counts = try link.idempotentTransaction { (c) throws(PostgresError) in
                    try batch.map { op throws(PostgresError) in try apply(op, c) }
                }
                backoff = 0
            } catch {
                failure = error
                link.dropIfLost()
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
                backoff = PostgresLink.nextBackoff(after: backoff, cap: 2_000_000_000)
                usleep(useconds_t(backoff / 1000))
            }
        }
    }

    /// Closing while PostgreSQL is down: answers every write still queued with a failure
    /// instead of waiting out another connect timeout per batch (a shutdown must not hang).
    private func failPendingAtClose() {
        let error = PostgresError("the store closed while PostgreSQL was unreachable")
        cond.lock()
        let ops = queue.pending
        queue.pending = []
        let start = queue.done
        queue.done = queue.accepted
        queue.failures.append((start, queue.done, error))
        let waiters = queue.waiters
        queue.waiters = []
        cond.unlock()
        for op in ops { if case .revokeAll(_, let done) = op { done(.failure(error)) } }
        for w in waiters { w.resume.resume(returning: error) }
    }

    /// The row that holds the spends of sidecar runs that closed cleanly. Run ids are
    /// lowercase UUIDs, so no run can own it.
    static let retiredRow = "retired"

    /// At a clean close, once every queued write went out: moves this run's rows into each
    /// session's `retiredRow` in one transaction, so a session's sum is unchanged and the table
    /// keeps one row per (session, live or crashed run) plus one, instead of one per start
    /// (docs/deployment.md, "What grows"). Idempotent: a retry after a COMMIT that landed finds
    /// no row left to move. A failure leaves the rows where they are (the old bound).
    private func retireSpends(_ link: inout PostgresLink) {
        let me = sidecarID
        guard budgets.withLock({ b in b.rows.values.contains { $0[me] != nil } }) else { return }
        _ = try? link.idempotentTransaction { (c) throws(PostgresError) in
            try c.query("""
                WITH gone AS (DELETE FROM capgate_budget_spends WHERE sidecar = $1 RETURNING session, used)
                INSERT INTO capgate_budget_spends (session, sidecar, used) SELECT session, $2, used FROM gone
                ON CONFLICT (session, sidecar) DO UPDATE SET used = capgate_budget_spends.used + excluded.used
                """, [me, Self.retiredRow])
            // The others drop this run's row from their copies (their sums do not change).
            try c.query("SELECT pg_notify($1, '*')", [Self.budgetChannel])
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
        case .spend(let session, let used):
            try c.query("INSERT INTO capgate_budget_spends (session, sidecar, used) VALUES ($1, $2, $3::bigint) "
                        + "ON CONFLICT (session, sidecar) DO UPDATE SET used = GREATEST(capgate_budget_spends.used, excluded.used)",
                        [session, sidecarID, String(used)])
            // A session too long for one notification (8000 bytes) asks for a full re-read.
            try c.query("SELECT pg_notify($1, $2)", [Self.budgetChannel, session.utf8.count <= 4000 ? session : "*"])
            return 0
        case .handle(let h, let payload):
            try c.query("INSERT INTO capgate_handles (handle_id, principal_id, expires_at, payload) "
                        + "VALUES ($1, $2, to_timestamp($3::double precision), $4) ON CONFLICT (handle_id) DO NOTHING",
                        [h.handleID, h.principalID, String(h.expiresAt.secondsSinceEpoch), payload])
            return 0
        case .rateHit(let key, let window):
            // Keys longer than a notification can carry are counted by this sidecar only.
            guard key.utf8.count <= 6000 else { return 0 }
            // PostgreSQL folds identical notifications of one transaction into one: the
            // sequence number keeps two hits of one batch apart.
            rateSeq += 1
            try c.query("SELECT pg_notify($1, $2)", [Self.rateChannel, "\(sidecarID)\t\(rateSeq)\t\(window)\t\(key)"])
            return 0
        }
    }

    // MARK: - Listener

    private func listenerLoop() {
        var backoff: UInt64 = 0
        while !stopping.load(ordering: .relaxed) {
            do throws(PostgresError) {
                let c = try PostgresConnection(settings)
                try c.execute("LISTEN \(Self.channel); LISTEN \(Self.budgetChannel); LISTEN \(Self.rateChannel)")  // constant channel names
                try rereadSpends(c, session: nil)
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
            for n in try c.notifications() {
                if n.channel == Self.rateChannel {
                    let parts = n.payload.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false)
                    guard parts.count == 4, parts[0] != Substring(sidecarID), let window = Double(parts[2]) else { continue }
                    rateHit.withLock { $0 }?.call(String(parts[3]), window)
                } else if n.channel == Self.budgetChannel {
                    try rereadSpends(c, session: n.payload == "*" ? nil : n.payload)
                } else if n.channel == Self.channel {
                    if n.payload == "*" { rereadAll = true } else { local.withLock { _ = $0.insert(n.payload) } }
                }
            }
            let now = DispatchTime.now().uptimeNanoseconds
            if rereadAll || now >= nextReconcile {
                let full = now >= nextFull
                try reconcile(c, full: full)
                if full {
                    try rereadSpends(c, session: nil)
                    try Self.sweepExpired(c)
                    nextFull = now + 60_000_000_000
                }
                nextReconcile = now + UInt64(Self.nanos(reconcileInterval))
            }
        }
    }

    /// How long a revocation whose token's expiry is unknown is kept: a token's id is learnt
    /// only from the token, so it was issued before it was revoked, and every token lives
    /// 3600 s (the TTL `grant_capability` issues with); the second hour covers clock skew
    /// between the sidecar that issued it and the database.
    static let unknownExpiryRetention = "2 hours"

    /// Deletes what no sidecar needs any more (docs/deployment.md, "What grows"): revocations
    /// and issued-token rows of expired tokens, revocations of ids with no known expiry (never
    /// issued here, or whose issued-token row was already swept at its expiry) after
    /// `unknownExpiryRetention`, and expired handles. Any sidecar may run it (idempotent).
    public static func sweepExpired(_ c: PostgresConnection) throws(PostgresError) {
        try c.query("DELETE FROM capgate_revocations WHERE expires_at <= now()")
        try c.query("DELETE FROM capgate_revocations WHERE expires_at IS NULL "
                    + "AND revoked_at < now() - interval '\(unknownExpiryRetention)'")
        try c.query("DELETE FROM capgate_issued_tokens WHERE expires_at <= now()")
        try c.query("DELETE FROM capgate_handles WHERE expires_at <= now()")
    }

    /// Adds every revocation in PostgreSQL (`full`) or those of the last 30 s to the local set.
    private func reconcile(_ c: PostgresConnection, full: Bool) throws(PostgresError) {
        let rows = try c.query("SELECT token_id FROM capgate_revocations WHERE "
                               + (full ? "true" : "revoked_at >= now() - interval '30 seconds'")).rows
        local.withLock { set in for r in rows { if let t = r[0] { set.insert(t) } } }
        sync.withLock { $0.lastSync = DispatchTime.now().uptimeNanoseconds }
    }

    /// Reads the other sidecars' spends (of one session, or all) into the local copy and tells
    /// the handler about every session where the other sidecars' total grew.
    ///
    /// Each session read replaces the others' rows in the copy: a run that closed moved its rows
    /// into `retiredRow` (`retireSpends`), and keeping its old row as well would count it twice.
    /// One statement reads one snapshot and this thread's reads follow each other, so a later
    /// read never sees less than an earlier one: a session's others' total only grows.
    private func rereadSpends(_ c: PostgresConnection, session: String?) throws(PostgresError) {
        let rows = session == nil
            ? try c.query("SELECT session, sidecar, used FROM capgate_budget_spends").rows
            : try c.query("SELECT session, sidecar, used FROM capgate_budget_spends WHERE session = $1", [session]).rows
        let me = sidecarID
        var read: [String: [String: Int]] = [:]
        for r in rows {
            guard let s = r[0], let who = r[1], who != me, let used = r[2].flatMap({ Int($0) }) else { continue }
            read[s, default: [:]][who] = used
        }
        let grown: Set<String> = budgets.withLock { b in
            var grown = Set<String>()
            for (s, others) in read {
                let old = b.rows[s] ?? [:]
                let before = old.reduce(0) { $1.key == me ? $0 : $0 + $1.value }
                var new = others
                if let mine = old[me] { new[me] = mine }
                b.rows[s] = new
                if others.values.reduce(0, +) > before { grown.insert(s) }
            }
            return grown
        }
        if let handler = remoteSpend.withLock({ $0 }) { for s in grown { handler.call(s) } }
    }

    static func nanos(_ d: Duration) -> Int64 {
        d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
    }
}
