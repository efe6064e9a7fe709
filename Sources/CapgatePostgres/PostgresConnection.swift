import CLibPQ
#if canImport(Glibc)
import Glibc
#endif

/// Where and how to reach PostgreSQL: a libpq connection string (`host=... dbname=...
/// sslmode=verify-full sslrootcert=...`, or a `postgresql://` URI) and the password read from
/// `password_file` (never part of the DSN, so it never shows in a config file or a log line).
public struct PostgresSettings: Sendable, Equatable {
    public var dsn: String
    public var password: String?
    /// Connections of the query pool (the listener and the track writer have one each).
    public var poolSize: Int

    public init(dsn: String, password: String? = nil, poolSize: Int = 4) {
        self.dsn = dsn
        self.password = password
        self.poolSize = poolSize
    }

    /// The DSN with any `password=` component removed, for error messages.
    public var redactedDSN: String {
        dsn.split(separator: " ").filter { !$0.lowercased().hasPrefix("password=") }.joined(separator: " ")
    }
}

/// One libpq connection, driven with blocking calls: its owner confines it to one dedicated
/// thread (a pool worker, the listener, a writer), never an event loop or the cooperative
/// pool. Every statement with values is parameterized (`PQexecParams`, values sent apart from
/// the SQL text); `execute` without parameters exists only for our constant DDL.
public final class PostgresConnection {
    private let conn: OpaquePointer

    /// Connects (blocking). TLS, host, port and database come from the DSN, so `sslmode` and
    /// `sslrootcert` there are honoured by libpq itself; the password is passed as its own
    /// keyword, after the DSN, so it overrides any in the DSN.
    public init(_ settings: PostgresSettings) throws(PostgresError) {
        var keys: [String] = ["dbname", "connect_timeout", "application_name"]
        var values: [String] = [settings.dsn, "5", "capgate"]
        if let p = settings.password { keys.append("password"); values.append(p) }
        let handle: OpaquePointer? = withCStrings(keys) { k in
            withCStrings(values) { v in PQconnectdbParams(k, v, 1) }
        }
        guard let h = handle else { throw PostgresError("PostgreSQL: out of memory", connectionLost: true) }
        guard PQstatus(h) == CONNECTION_OK else {
            let why = Self.trimmed(PQerrorMessage(h))
            PQfinish(h)
            throw PostgresError("cannot connect to PostgreSQL (\(settings.redactedDSN)): \(why)", connectionLost: true)
        }
        conn = h
        // libpq prints notices (and the server's FATAL on shutdown) to stderr by default;
        // errors reach us through results, so notices are dropped rather than interleaved
        // with the sidecar's log lines.
        PQsetNoticeProcessor(h, { _, _ in }, nil)
    }

    deinit { PQfinish(conn) }

    public var isConnected: Bool { PQstatus(conn) == CONNECTION_OK }

    /// The socket libpq reads from (for `poll` in the listener).
    public var socket: Int32 { PQsocket(conn) }

    /// Runs one statement with text parameters `$1...$n` (nil is SQL NULL) and returns its
    /// rows as text. A value containing NUL is refused (PostgreSQL text cannot hold one).
    @discardableResult
    public func query(_ sql: String, _ params: [String?] = []) throws(PostgresError) -> PostgresRows {
        for p in params where p?.utf8.contains(0) == true {
            throw PostgresError("a query parameter contains a NUL byte")
        }
        let result: OpaquePointer? = withOptionalCStrings(params) { ptrs in
            PQexecParams(conn, sql, Int32(params.count), nil, ptrs, nil, nil, 0)
        }
        return try take(result, sql)
    }

    /// Runs constant SQL with no values (our migrations' DDL); several statements allowed.
    public func execute(_ sql: String) throws(PostgresError) {
        _ = try take(PQexec(conn, sql), sql)
    }

    /// Runs `body` in one transaction: COMMIT if it returns, ROLLBACK if it throws.
    public func transaction<T>(_ body: (PostgresConnection) throws(PostgresError) -> T) throws(PostgresError) -> T {
        try execute("BEGIN")
        do {
            let value = try body(self)
            try execute("COMMIT")
            return value
        } catch {
            if isConnected { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Reads what the server sent (non-blocking) and returns the notifications received,
    /// as (channel, payload). Throws when the connection is gone.
    public func notifications() throws(PostgresError) -> [(channel: String, payload: String)] {
        guard PQconsumeInput(conn) == 1 else {
            throw PostgresError("PostgreSQL connection lost: \(Self.trimmed(PQerrorMessage(conn)))", connectionLost: true)
        }
        var out: [(String, String)] = []
        while let n = PQnotifies(conn) {
            out.append((String(cString: n.pointee.relname), String(cString: n.pointee.extra)))
            PQfreemem(n)
        }
        return out
    }

    private func take(_ result: OpaquePointer?, _ sql: String) throws(PostgresError) -> PostgresRows {
        guard let r = result else {
            throw PostgresError("PostgreSQL: \(Self.trimmed(PQerrorMessage(conn)))", connectionLost: !isConnected)
        }
        defer { PQclear(r) }
        switch PQresultStatus(r) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK:
            let rows = Int(PQntuples(r)), cols = Int(PQnfields(r))
            var out: [[String?]] = []
            out.reserveCapacity(rows)
            for i in 0..<rows {
                var row: [String?] = []
                row.reserveCapacity(cols)
                for j in 0..<cols {
                    if PQgetisnull(r, Int32(i), Int32(j)) == 1 { row.append(nil); continue }
                    let n = Int(PQgetlength(r, Int32(i), Int32(j)))
                    let p = UnsafeRawPointer(PQgetvalue(r, Int32(i), Int32(j))!).assumingMemoryBound(to: UInt8.self)
                    row.append(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
                }
                out.append(row)
            }
            let affected = Int(String(cString: PQcmdTuples(r))) ?? 0
            return PostgresRows(rows: out, affected: affected)
        default:
            let state = PQresultErrorField(r, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let why = Self.trimmed(PQresultErrorMessage(r))
            throw PostgresError("PostgreSQL: \(why) (in \(sql.prefix(60)))", sqlState: state, connectionLost: !isConnected)
        }
    }

    static func trimmed(_ p: UnsafePointer<CChar>?) -> String {
        guard let p else { return "unknown error" }
        return String(cString: p).trimmingCharacters(in: .newlines)
    }
}

/// A statement's rows, every value as text (nil for NULL), and the affected-row count.
public struct PostgresRows: Sendable {
    public let rows: [[String?]]
    public let affected: Int
    public var first: [String?]? { rows.first }
}

extension String {
    fileprivate func trimmingCharacters(in set: TrimSet) -> String {
        var s = Substring(self)
        while let c = s.last, c == "\n" || c == "\r" || c == " " { s = s.dropLast() }
        return String(s)
    }
    fileprivate enum TrimSet { case newlines }
}

/// NUL-terminated copies of `strings`, alive for the duration of `body`.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    var ptrs: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) } + [nil]
    return ptrs.withUnsafeMutableBufferPointer { body(UnsafePointer($0.baseAddress!)) }
}

private func withOptionalCStrings<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    let copies = strings.map { $0.map { strdup($0) } ?? nil }
    defer { copies.forEach { free($0) } }
    var ptrs: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
    if ptrs.isEmpty { return body(nil) }
    return ptrs.withUnsafeMutableBufferPointer { body(UnsafePointer($0.baseAddress!)) }
}
