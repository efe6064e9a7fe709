/// Receives readiness for one registered file descriptor.
///
/// Registration is edge-triggered (EPOLLET): a callback fires when readiness
/// *changes*, so `readable()` must read until the call would block (or until
/// TLS reports WANT_READ, since OpenSSL may hold whole records), and a
/// blocked write resumes from `writable()`. On one wake-up the loop calls, in
/// this order and only while the fd is still registered: `readable()` (data
/// or EOF), `writable()`, then `hangup()` (error or both directions shut).
/// A handler that deregisters in `readable()` gets no further calls for that
/// wake-up, even if the fd number is reused in the same batch.
public protocol EventHandler: AnyObject {
    /// Data, EOF, or a pending error can be read.
    func readable()
    /// The socket accepts more bytes (resume flushing / producing).
    func writable()
    /// EPOLLERR or EPOLLHUP: the connection is dead; deregister and close.
    /// Also called once for every handler still registered when the loop
    /// exits, so no fd or permit is leaked on shutdown.
    func hangup()
    /// EPOLLRDHUP: the peer shut down its sending side. Called before `readable()` on that
    /// wake-up. A handler that stops reading at a short read (instead of reading on to EAGAIN)
    /// must then read to the EOF: the FIN may already be queued behind the data and makes no
    /// later edge. Default: nothing (handlers that read to EAGAIN need no notice).
    func readHangup()
}

extension EventHandler {
    public func readHangup() {}
}

/// Which readiness to watch. Both by default: in edge-triggered mode keeping
/// EPOLLOUT armed costs nothing and means a blocked write always resumes.
public struct Interest: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let read = Interest(rawValue: 1)
    public static let write = Interest(rawValue: 2)
    public static let all: Interest = [.read, .write]
}
