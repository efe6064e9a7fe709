import AgentKernel

/// Retention instead of eviction (docs/audit.md): records older than `retain_days` are
/// deleted with the reference's pruning checkpoint (`meta.checkpoint_hash` = the last deleted
/// record's hash, `meta.checkpoint_next_seq` = its seq + 1), so the retained suffix still
/// verifies with both CLIs. Unlike the reference, which deletes by time alone, only a prefix
/// of the chain is deleted (up to the first record still inside the window): a record with
/// an older timestamp after a newer one (a clock step) can never open a gap in the chain.
public struct AuditRetention: Sendable, Equatable {
    public var retainDays: Double
    public init(retainDays: Double) { self.retainDays = retainDays }

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
        let lastSeq = last.int(0)
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
