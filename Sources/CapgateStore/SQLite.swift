import CSQLite

/// A failure of the audit store. `message` names the file and, for a chain failure, the first
/// bad record; it never contains the secret.
public struct AuditStoreError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One SQLite connection: the few calls the audit store needs, with every result code
/// checked. Not thread-safe: each owner confines it to one thread or one lock.
final class SQLiteConnection {
    let db: OpaquePointer
    let path: String

    init(path: String, readOnly: Bool = false) throws(AuditStoreError) {
        var handle: OpaquePointer?
        // NOMUTEX: every connection is confined by its owner; the library's own mutex would be
        // a second lock on the hot path.
        let flags = (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE))
            | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let h = handle else {
            let why = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(handle)
            throw AuditStoreError("cannot open audit store \(path): \(why)")
        }
        db = h
        self.path = path
        sqlite3_extended_result_codes(db, 1)
        // A busy reader or checkpoint must not fail a commit outright.
        sqlite3_busy_timeout(db, 5_000)
    }

    deinit { sqlite3_close_v2(db) }

    var lastError: String { String(cString: sqlite3_errmsg(db)) }

    func exec(_ sql: String) throws(AuditStoreError) {
        let rc = sqlite3_exec(db, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw AuditStoreError("\(path): \(lastError) (in \(sql.prefix(60)))") }
    }

    func prepare(_ sql: String) throws(AuditStoreError) -> SQLiteStatement {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK, let s = stmt else {
            throw AuditStoreError("\(path): \(lastError) (preparing \(sql.prefix(60)))")
        }
        return SQLiteStatement(s, connection: self)
    }

    /// The single text value of a one-row query, nil when there is no row or it is NULL.
    func scalarText(_ sql: String, _ args: [SQLiteValue] = []) throws(AuditStoreError) -> String? {
        let s = try prepare(sql)
        try s.bind(args)
        guard try s.step() else { return nil }
        return s.text(0)
    }
}

enum SQLiteValue {
    case int(Int)
    case text(String)
    case null
}

/// A prepared statement; finalized on deinit.
final class SQLiteStatement {
    private let stmt: OpaquePointer
    private let connection: SQLiteConnection

    init(_ stmt: OpaquePointer, connection: SQLiteConnection) {
        self.stmt = stmt
        self.connection = connection
    }

    deinit { sqlite3_finalize(stmt) }

    /// Ends the statement's current run (and its read transaction) so it can be reused.
    func reset() { sqlite3_reset(stmt) }

    /// Binds positional parameters (1-based in SQLite), after a reset.
    func bind(_ values: [SQLiteValue]) throws(AuditStoreError) {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
        // SQLITE_TRANSIENT: SQLite copies the bytes, so Swift's temporary buffer may go.
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (i, v) in values.enumerated() {
            let idx = Int32(i + 1)
            let rc: Int32
            switch v {
            case .int(let n): rc = sqlite3_bind_int64(stmt, idx, Int64(n))
            case .text(let s):
                var s = s
                // With an explicit length, so an embedded NUL is stored, not a truncation point.
                rc = s.withUTF8 { b in
                    guard let base = b.baseAddress, b.count > 0 else { return sqlite3_bind_text(stmt, idx, "", 0, transient) }
                    return UnsafeRawPointer(base).withMemoryRebound(to: CChar.self, capacity: b.count) { p in
                        sqlite3_bind_text(stmt, idx, p, Int32(b.count), transient)
                    }
                }
            case .null: rc = sqlite3_bind_null(stmt, idx)
            }
            guard rc == SQLITE_OK else { throw AuditStoreError("\(connection.path): bind failed: \(connection.lastError)") }
        }
    }

    /// Advances: true with a row, false when done.
    func step() throws(AuditStoreError) -> Bool {
        switch sqlite3_step(stmt) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw AuditStoreError("\(connection.path): \(connection.lastError)")
        }
    }

    /// Runs a statement that returns no rows.
    func run(_ values: [SQLiteValue] = []) throws(AuditStoreError) {
        try bind(values)
        while try step() {}
    }

    func int(_ col: Int32) -> Int { Int(sqlite3_column_int64(stmt, col)) }

    /// A column's text exactly as stored (byte-for-byte UTF-8), nil for NULL.
    func text(_ col: Int32) -> String? {
        guard sqlite3_column_type(stmt, col) != SQLITE_NULL, let p = sqlite3_column_text(stmt, col) else { return nil }
        let n = Int(sqlite3_column_bytes(stmt, col))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }
}

/// Rows changed by the connection's last statement.
func sqlite3Changes(_ db: SQLiteConnection) -> Int32 { sqlite3_changes(db.db) }
