/// A failure talking to PostgreSQL. `sqlState` is the server's five-character SQLSTATE when
/// there is one (`40001` serialization failure, `23505` unique violation...), nil for a
/// client-side failure (connection refused, lost, bad DSN). `message` never contains the
/// password: libpq does not echo it and we never add it.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let sqlState: String?
    /// True when the connection itself is gone (the caller reconnects rather than retrying
    /// on the same connection).
    public let connectionLost: Bool

    public init(_ message: String, sqlState: String? = nil, connectionLost: Bool = false) {
        self.message = message
        self.sqlState = sqlState
        self.connectionLost = connectionLost
    }

    public var description: String { sqlState.map { "\(message) (SQLSTATE \($0))" } ?? message }
}
