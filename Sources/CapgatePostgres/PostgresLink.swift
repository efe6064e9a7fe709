/// One thread's connection to PostgreSQL that reconnects when it finds the old one dead. The
/// writer loops of the shared store and the trace store, and the retention loop, each own one:
/// they all had the same "connect if missing or dead, retry once after an idle death" steps.
/// Not `Sendable`: like `PostgresConnection`, it stays on the thread that made it.
struct PostgresLink {
    let settings: PostgresSettings
    private var conn: PostgresConnection?

    init(_ settings: PostgresSettings) { self.settings = settings }

    /// The live connection, connecting (blocking) first if there is none or it has died.
    mutating func connection() throws(PostgresError) -> PostgresConnection {
        if let c = conn, c.isConnected { return c }
        conn = nil
        let c = try PostgresConnection(settings)
        conn = c
        return c
    }

    /// `body` in one transaction. A connection that looks fine may have died while idle (a
    /// server restart), which shows only when the first statement fails: one retry on a fresh
    /// connection then. Only for idempotent bodies, because a batch whose COMMIT landed just
    /// before the connection broke runs again.
    mutating func idempotentTransaction<T>(_ body: (PostgresConnection) throws(PostgresError) -> T)
        throws(PostgresError) -> T
    {
        let c = try connection()  // a failed connect is not retried here: the caller backs off
        do {
            return try c.transaction(body)
        } catch where error.connectionLost {
            conn = nil
            return try connection().transaction(body)
        }
    }

    /// After a failure: forget a connection that is no longer connected, so the next use
    /// reconnects instead of failing on it again.
    mutating func dropIfLost() {
        if conn?.isConnected == false { conn = nil }
    }

    /// The next pause after a failed attempt: doubling from 50 ms up to `cap` nanoseconds.
    static func nextBackoff(after previous: UInt64, cap: UInt64) -> UInt64 {
        min(max(previous * 2, 50_000_000), cap)
    }
}
