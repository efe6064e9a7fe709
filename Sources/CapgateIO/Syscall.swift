import Glibc

/// Outcome of a non-blocking call: done (with a value) or "try again when the
/// fd is ready". EAGAIN is flow control, not an error, so it is not thrown.
public enum IOResult<Value> {
    case processed(Value)
    case wouldBlock
}

extension IOResult: Sendable where Value: Sendable {}
extension IOResult: Equatable where Value: Equatable {}

/// The one place that interprets `errno` after a system call (SwiftNIO's
/// `syscall` wrapper habit): EINTR is retried, EAGAIN/EWOULDBLOCK becomes
/// `.wouldBlock`, everything else is thrown as a typed `IOError`.
///
/// Not for `close(2)`: on Linux the fd is released even when close reports
/// EINTR, so retrying could close an fd another thread just received.
public enum Syscall {
    /// Runs `body` (which returns -1 and sets errno on failure) for a
    /// non-blocking fd. Retries EINTR; maps EAGAIN/EWOULDBLOCK to `.wouldBlock`.
    @inline(__always)
    public static func nonBlocking(_ call: String, _ body: () -> Int) throws(IOError) -> IOResult<Int> {
        while true {
            let result = body()
            if result >= 0 { return .processed(result) }
            let err = errno
            if err == EINTR { continue }
            if err == EAGAIN || err == EWOULDBLOCK { return .wouldBlock }
            throw IOError(errno: err, call: call)
        }
    }

    /// Runs `body` for a call where EAGAIN is a real failure (socket, bind,
    /// setsockopt, epoll_ctl...). Retries EINTR, throws on any other error.
    @inline(__always)
    @discardableResult
    public static func checked(_ call: String, _ body: () -> Int) throws(IOError) -> Int {
        while true {
            let result = body()
            if result >= 0 { return result }
            let err = errno
            if err == EINTR { continue }
            throw IOError(errno: err, call: call)
        }
    }
}
