import AgentKernel

/// Retention instead of eviction (docs/audit.md): records older than `retainDays`, and the
/// oldest records while the database's live pages exceed `maxBytes`, are deleted with the
/// reference's pruning checkpoint (`meta.checkpoint_hash` = the last deleted record's hash,
/// `meta.checkpoint_next_seq` = its seq + 1), so the retained suffix still verifies with both
/// CLIs. Only ever a prefix of the chain is deleted: unlike the reference, which deletes by
/// time alone, a record with an older timestamp after a newer one (a clock step) can never
/// open a gap in the chain.
public struct AuditRetention: Sendable, Equatable {
    public var retainDays: Double?
    public var maxBytes: Int?
    /// Size pruning deletes down to this fraction of `maxBytes`, so it runs now and then
    /// rather than after every commit.
    static let lowWater = 0.9

    public init(retainDays: Double? = nil, maxBytes: Int? = nil) {
        self.retainDays = retainDays
        self.maxBytes = maxBytes
    }

    /// Deletes the expired prefix in one transaction; returns how many records went.
    static func prune(_ db: SQLiteConnection, now: Timestamp, retainDays: Double) throws(AuditStoreError) -> Int {
        let cutoff = now.adding(seconds: -retainDays * 86_400).isoformat
        // The first record still inside the window bounds the prefix; none means all expired.
        let keep = try db.prepare("SELECT min(seq) FROM traces WHERE invoked_at >= ?")
        try keep.bind([.text(cutoff)])
        let firstKept: Int? = try keep.step() && keep.text(0) != nil ? keep.int(0) : nil
        let last = try db.prepare(firstKept == nil
            ? "SELECT seq, record_hash FROM traces ORDER BY seq DESC LIMIT 1"
            : "SELECT seq, record_hash FROM traces WHERE seq < ? ORDER BY seq DESC LIMIT 1")
        try last.bind(firstKept.map { [.int($0)] } ?? [])
        guard try last.step(), let hash = last.text(1) else { return 0 }
        return try deletePrefix(db, through: last.int(0), hash: hash)
    }

    /// Bytes in the database's live pages (tables and indexes; free pages are reused, so
    /// the file does not grow past this plus the WAL).
    static func liveBytes(_ db: SQLiteConnection) throws(AuditStoreError) -> Int {
        func pragma(_ name: String) throws(AuditStoreError) -> Int {
            Int(try db.scalarText("PRAGMA " + name) ?? "") ?? 0
        }
        return try pragma("page_size") * max(0, try pragma("page_count") - pragma("freelist_count"))
    }

    /// While the live pages exceed `maxBytes`, deletes the oldest records (as many as the
    /// average record size says bring it to `lowWater`; the estimate is retried a few times
    /// since indexes and pages do not shrink exactly in proportion); returns how many went.
    static func pruneToSize(_ db: SQLiteConnection, maxBytes: Int) throws(AuditStoreError) -> Int {
        var total = 0
        for _ in 0..<4 {
            let n = try pruneOnceToSize(db, maxBytes: maxBytes)
            if n == 0 { break }
            total += n
        }
        return total
    }

    private static func pruneOnceToSize(_ db: SQLiteConnection, maxBytes: Int) throws(AuditStoreError) -> Int {
        let used = try liveBytes(db)
        guard used > maxBytes else { return 0 }
        let count = Int(try db.scalarText("SELECT count(*) FROM traces") ?? "") ?? 0
        guard count > 0 else { return 0 }
        let excess = Double(used) - Double(maxBytes) * lowWater
        let n = min(count, max(1, Int((excess / Double(used) * Double(count)).rounded(.up))))
        let nth = try db.prepare("SELECT seq, record_hash FROM traces ORDER BY seq LIMIT 1 OFFSET ?")
        try nth.bind([.int(n - 1)])
        guard try nth.step(), let hash = nth.text(1) else { return 0 }
        return try deletePrefix(db, through: nth.int(0), hash: hash)
    }

    /// Deletes every record up to `lastSeq` and records the checkpoint, in one transaction.
    static func deletePrefix(_ db: SQLiteConnection, through lastSeq: Int, hash: String) throws(AuditStoreError) -> Int {
        try db.exec("BEGIN IMMEDIATE")
        do {
            let del = try db.prepare("DELETE FROM traces WHERE seq <= ?")
            try del.run([.int(lastSeq)])
            let n = Int(sqlite3Changes(db))
            let meta = try db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) "
                                      + "ON CONFLICT(key) DO UPDATE SET value = excluded.value")
            try meta.run([.text("checkpoint_hash"), .text(hash)])
            try meta.run([.text("checkpoint_next_seq"), .text(String(lastSeq + 1))])
            try db.exec("COMMIT")
            return n
        } catch {
            try? db.exec("ROLLBACK")
            throw error
        }
    }
}
