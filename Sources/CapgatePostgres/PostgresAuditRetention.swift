import AgentKernel

/// `[audit] retain_days` / `max_bytes` for a fleet's audit chains in PostgreSQL (docs/audit.md,
/// docs/deployment.md), the file store's retention carried over: only ever a prefix of a
/// chain is deleted, in the transaction that records the reference's checkpoint for that chain
/// (`capgate_trace_chains.checkpoint_hash` = the last deleted record's hash,
/// `checkpoint_next_seq` = its seq + 1), so every remaining chain still verifies with
/// `capgate audit verify --config`.
///
/// Several sidecars share the database and each runs this over every chain (so the chains of
/// sidecars that are gone are pruned too). Two prunes never interleave: a prune runs under a
/// session advisory lock, and one that finds it held skips its turn (the holder is doing the
/// work; the writer thread of the skipping sidecar is never the one waiting). Within a prune,
/// each chain's cut is its own short transaction that first locks the chain's row, the row its
/// writer also locks for every commit: a cut and a commit of one chain never interleave
/// either, and a checkpoint only ever moves forward (the update is guarded), so even a prune
/// without the lock could not move one back.
public struct PostgresAuditRetention: Sendable, Equatable {
    /// Records older than this (days, by `invoked_at`) are pruned.
    public var retainDays: Double?
    /// The oldest records (across chains) are pruned while the records' size exceeds this.
    public var maxBytes: Int?

    /// Size pruning deletes down to this fraction of `maxBytes`, so it runs now and then.
    static let lowWater = 0.9
    /// What a record counts beyond its payload in `live_bytes`: the hashes, ids, timestamp,
    /// tuple header and index entries (about 250 bytes). PostgreSQL does not shrink a table
    /// after a DELETE (autovacuum makes the space reusable), so `max_bytes` bounds the live
    /// records this way rather than the files.
    public static let recordOverhead = 256
    /// At most this many records per transaction, so a first prune of a large backlog never
    /// holds a chain's row (and its writer) for long.
    static let maxPerTransaction = 5000
    /// The prune lock, next to the migration lock (`PostgresSchema.lockKey`).
    static let lockKey = "4242137014"

    public init(retainDays: Double? = nil, maxBytes: Int? = nil) {
        self.retainDays = retainDays
        self.maxBytes = maxBytes
    }

    /// Prunes every chain by age, then by size; returns how many records went, or nil when
    /// another sidecar's prune holds the lock (it is doing the same work).
    public func prune(_ c: PostgresConnection, now: Timestamp) throws(PostgresError) -> Int? {
        guard try c.query("SELECT pg_try_advisory_lock($1::bigint)", [Self.lockKey]).first?[0] == "t" else { return nil }
        defer { _ = try? c.query("SELECT pg_advisory_unlock($1::bigint)", [Self.lockKey]) }
        var total = 0
        if let days = retainDays { total += try Self.pruneByAge(c, cutoff: now.adding(seconds: -days * 86_400).isoformat) }
        if let bytes = maxBytes { total += try Self.pruneToSize(c, maxBytes: bytes) }
        return total
    }

    /// Per chain, the prefix before its first record at or after `cutoff` (all of it when
    /// none is): a record with an older timestamp after a newer one (a clock step) can never
    /// open a gap. Timestamps are the kernel's ISO-8601 UTC text, ordered bytewise ("C").
    static func pruneByAge(_ c: PostgresConnection, cutoff: String) throws(PostgresError) -> Int {
        var total = 0
        for row in try c.query("SELECT chain FROM capgate_trace_chains ORDER BY chain").rows {
            guard let chain = row[0] else { continue }
            while true {
                let n = try cutPrefix(c, chain: chain) { (c) throws(PostgresError) in
                    let r = try c.query("""
                        SELECT coalesce((SELECT seq - 1 FROM capgate_traces WHERE chain = $1 AND invoked_at COLLATE "C" >= $2
                                         ORDER BY seq LIMIT 1),
                                        (SELECT max(seq) FROM capgate_traces WHERE chain = $1))
                        """, [chain, cutoff])
                    return r.first?[0].flatMap { Int($0) }
                }
                total += n
                if n < maxPerTransaction { break }
            }
        }
        return total
    }

    /// While the chains' `live_bytes` exceed `maxBytes`, deletes the oldest records across
    /// chains (by `invoked_at`; as many as the average record size says bring it to
    /// `lowWater`), each chain cut through the newest of its records among them.
    static func pruneToSize(_ c: PostgresConnection, maxBytes: Int) throws(PostgresError) -> Int {
        var total = 0
        for _ in 0..<16 {
            guard let sums = try c.query("SELECT coalesce(sum(live_bytes), 0), coalesce(sum(records), 0) "
                                         + "FROM capgate_trace_chains").first,
                  let used = sums[0].flatMap({ Int($0) }), let count = sums[1].flatMap({ Int($0) }),
                  used > maxBytes, count > 0 else { break }
            let excess = Double(used) - Double(maxBytes) * lowWater
            let n = min(count, maxPerTransaction, max(1, Int((excess / Double(used) * Double(count)).rounded(.up))))
            let cuts = try c.query("""
                SELECT chain, max(seq) FROM (SELECT chain, seq FROM capgate_traces
                                             ORDER BY invoked_at COLLATE "C", chain, seq LIMIT $1::bigint) oldest
                GROUP BY chain ORDER BY chain
                """, [String(n)]).rows
            var deleted = 0
            for cut in cuts {
                guard let chain = cut[0], let seq = cut[1].flatMap({ Int($0) }) else { continue }
                deleted += try cutPrefix(c, chain: chain) { _ in seq }
            }
            total += deleted
            if deleted == 0 { break }
        }
        return total
    }

    /// In one transaction: locks `chain`'s row, deletes its records up to the seq `through`
    /// names (read after the lock, so after any commit of that chain's writer; at most
    /// `maxPerTransaction` of them) and moves the checkpoint to the last one deleted. A chain
    /// left empty loses its row too: its writer, if it is still running, recreates it from its
    /// next record's link (docs/audit.md). Returns how many records went.
    static func cutPrefix(_ c: PostgresConnection, chain: String,
                          through: (PostgresConnection) throws(PostgresError) -> Int?) throws(PostgresError) -> Int {
        try c.transaction { (c) throws(PostgresError) in
            guard let next = try c.query("SELECT checkpoint_next_seq FROM capgate_trace_chains WHERE chain = $1 FOR UPDATE",
                                         [chain]).first?[0].flatMap({ Int($0) }),
                  let wanted = try through(c), wanted >= next else { return 0 }
            let limit = min(wanted, next - 1 + maxPerTransaction)
            guard let last = try c.query("SELECT seq, record_hash FROM capgate_traces WHERE chain = $1 AND seq <= $2::bigint "
                                         + "ORDER BY seq DESC LIMIT 1", [chain, String(limit)]).first,
                  let lastSeq = last[0].flatMap({ Int($0) }), let hash = last[1] else { return 0 }
            let gone = try c.query("DELETE FROM capgate_traces WHERE chain = $1 AND seq <= $2::bigint "
                                   + "RETURNING octet_length(payload)", [chain, String(lastSeq)]).rows
            let bytes = gone.reduce(0) { $0 + ($1[0].flatMap { Int($0) } ?? 0) + recordOverhead }
            try c.query("""
                UPDATE capgate_trace_chains SET checkpoint_hash = $2, checkpoint_next_seq = $3::bigint,
                    records = greatest(records - $4::bigint, 0), live_bytes = greatest(live_bytes - $5::bigint, 0)
                WHERE chain = $1 AND checkpoint_next_seq < $3::bigint
                """, [chain, hash, String(lastSeq + 1), String(gone.count), String(bytes)])
            try c.query("DELETE FROM capgate_trace_chains WHERE chain = $1 "
                        + "AND NOT EXISTS (SELECT 1 FROM capgate_traces WHERE chain = $1)", [chain])
            return gone.count
        }
    }
}
