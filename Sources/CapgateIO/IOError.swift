import Glibc

/// A failed system call: which call and the `errno` it left.
///
/// Typed so callers can tell a peer reset (`ECONNRESET`, `EPIPE`: close the
/// connection quietly) from resource exhaustion (`EMFILE`: back off) without
/// parsing strings.
public struct IOError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The `errno` value the call failed with.
    public let errno: Int32
    /// The name of the system call (for logs; never includes peer data).
    public let call: String

    public init(errno: Int32, call: String) {
        self.errno = errno
        self.call = call
    }

    /// True when the peer went away (reset, broken pipe): expected on the
    /// internet, not worth an error-level log line.
    public var isPeerGone: Bool {
        errno == ECONNRESET || errno == EPIPE || errno == ENOTCONN || errno == ETIMEDOUT
    }

    public var description: String {
        // glibc >= 2.32 strerror returns static strings for known values: thread-safe.
        "\(call): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}
