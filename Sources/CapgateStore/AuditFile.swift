import AgentKernel

/// The reference's `SQLiteTraceStore` file layout (docs/audit.md): the `traces` and `meta`
/// tables exactly as the reference creates them, plus our indexes (which the reference's
/// CLI ignores), and the chain reader shared by the store's start-up check and `capgate audit`.
enum AuditFile {
    static let schema = [
        "CREATE TABLE IF NOT EXISTS traces (seq INTEGER PRIMARY KEY, action_id TEXT UNIQUE NOT NULL, "
            + "prev_hash TEXT NOT NULL, record_hash TEXT NOT NULL, invoked_at TEXT NOT NULL, payload TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
        // Expression indexes keep the reference's six columns untouched while explain and
        // query_traces seek by principal, capability and time instead of scanning.
        "CREATE INDEX IF NOT EXISTS traces_principal ON traces (json_extract(payload, '$.principal_id'))",
        "CREATE INDEX IF NOT EXISTS traces_capability ON traces (json_extract(payload, '$.capability_id'))",
        "CREATE INDEX IF NOT EXISTS traces_invoked_at ON traces (invoked_at)",
        // Ours, not the reference's (its CLI ignores it): each budget session's spent total,
        // written in the same group commit as the trace of the invoke that spent it.
        "CREATE TABLE IF NOT EXISTS budget_spend (session TEXT PRIMARY KEY, used INTEGER NOT NULL)",
    ]

    /// The checkpoint left by pruning: the hash the first retained record links to and its seq.
    static func checkpoint(_ db: SQLiteConnection) throws(AuditStoreError) -> (hash: String, nextSeq: Int) {
        let hash = try db.scalarText("SELECT value FROM meta WHERE key = 'checkpoint_hash'") ?? AuditChain.genesisHash
        let next = try db.scalarText("SELECT value FROM meta WHERE key = 'checkpoint_next_seq'") ?? "0"
        guard let n = Int(next), n >= 0 else {
            throw AuditStoreError("\(db.path): corrupted meta checkpoint_next_seq \(next.prefix(40))")
        }
        return (hash, n)
    }

    /// One stored row decoded; a payload that is not a JSON object names its seq.
    static func record(seq: Int, prevHash: String?, recordHash: String?, payload: String?,
                       path: String) throws(AuditStoreError) -> AuditRecord {
        guard let prevHash, let recordHash, let payload else {
            throw AuditStoreError("\(path): corrupted record at seq \(seq): NULL column")
        }
        let trace: JSONValue
        do {
            trace = try JSONParser.parse(payload)
        } catch {
            throw AuditStoreError("\(path): corrupted trace payload at seq \(seq): \(error)")
        }
        guard case .object = trace else {
            throw AuditStoreError("\(path): corrupted trace payload at seq \(seq): expected a JSON object")
        }
        return AuditRecord(seq: seq, prevHash: prevHash, recordHash: recordHash, trace: trace)
    }

    /// Every record in seq order.
    static func records(_ db: SQLiteConnection) throws(AuditStoreError) -> [AuditRecord] {
        let s = try db.prepare("SELECT seq, prev_hash, record_hash, payload FROM traces ORDER BY seq")
        try s.bind([])
        var out: [AuditRecord] = []
        while try s.step() {
            out.append(try record(seq: s.int(0), prevHash: s.text(1), recordHash: s.text(2), payload: s.text(3),
                                  path: db.path))
        }
        return out
    }

    /// Verifies the whole file as the reference does (from its checkpoint). The records and the
    /// checkpoint are read in one read transaction: a server pruning between two separate reads
    /// moved the checkpoint past rows already read, and verify reported a broken link.
    static func verify(_ db: SQLiteConnection, chain: AuditChain) throws(AuditStoreError) -> AuditChainVerification {
        try db.exec("BEGIN")
        do {
            let rows = try records(db)
            let genesis = try checkpoint(db).hash
            try db.exec("COMMIT")
            return chain.verify(rows, genesis: genesis)
        } catch {
            try? db.exec("ROLLBACK")
            throw error
        }
    }
}

/// Read-only access to an audit file for `capgate audit` (docs/audit.md): safe while a
/// server writes it (WAL readers see the last commit and never block the writer).
public final class AuditFileReader {
    private let db: SQLiteConnection

    /// Opens an existing file read-only; a missing or non-SQLite file is an error.
    public init(path: String) throws(AuditStoreError) {
        db = try SQLiteConnection(path: path, readOnly: true)
        do {
            _ = try db.scalarText("SELECT count(*) FROM traces")
        } catch {
            throw AuditStoreError("\(path) is not a capgate/weaver-kernel SQLite audit store: \(error.message)")
        }
    }

    /// The reference's `verify_chain`, from the pruning checkpoint.
    public func verify(secret: String) throws(AuditStoreError) -> AuditChainVerification {
        try AuditFile.verify(db, chain: AuditChain(secret: secret))
    }

    /// Every trace in chain order; a corrupted payload names its seq.
    public func traces() throws(AuditStoreError) -> [ActionTrace] {
        var out: [ActionTrace] = []
        for r in try AuditFile.records(db) {
            do throws(KernelError) {
                out.append(try ActionTrace(exported: r.trace))
            } catch {
                throw AuditStoreError("\(db.path): corrupted trace payload at seq \(r.seq): \(error.message)")
            }
        }
        return out
    }
}
