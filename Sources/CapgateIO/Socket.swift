import CIOShims
import Glibc

/// A TCP socket that owns its file descriptor and closes it exactly once.
///
/// Not `Sendable`: like every loop object it is confined to one thread.
/// To hand a connection to another loop, pass the raw descriptor
/// (`takeDescriptor()`, or `AcceptedConnection`) and adopt it there.
public final class Socket {
    /// The file descriptor, or -1 once closed / taken.
    public private(set) var descriptor: Int32

    /// Takes ownership of `descriptor` (it is closed by `close()` or deinit).
    public init(adopting descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
    }

    /// True until `close()` or `takeDescriptor()`.
    public var isOpen: Bool { descriptor >= 0 }

    // MARK: - Creating

    /// A non-blocking listening socket on a numeric IPv4/IPv6 address.
    /// `port` 0 lets the kernel choose (read it back with `localPort()`).
    ///
    /// SO_REUSEADDR lets a restarted server bind while old connections sit in
    /// TIME_WAIT. An IPv6 listener is IPv6-only (IPV6_V6ONLY) so the
    /// configured address means exactly one family; list two for dual stack.
    public static func listen(host: String, port: UInt16, backlog: Int32 = 1024) throws(IOError) -> Socket {
        try SocketAddress.withSockaddr(host: host, port: port) { (family, addr, len) throws(IOError) -> Socket in
            let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
            let fd = try Syscall.checked("socket") { Int(Glibc.socket(family, type, 0)) }
            let socket = Socket(adopting: Int32(fd))
            try socket.setOption(SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt(SO_REUSEADDR)")
            if family == AF_INET6 {
                try socket.setOption(Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1, "setsockopt(IPV6_V6ONLY)")
            }
            try Syscall.checked("bind") { Int(Glibc.bind(Int32(fd), addr, len)) }
            try Syscall.checked("listen") { Int(Glibc.listen(Int32(fd), backlog)) }
            return socket
        }
    }

    /// A connected client socket (for tests, tools and the client library).
    /// Connects with a deadline, then leaves the socket in blocking mode
    /// unless `nonBlocking` is true. TCP_NODELAY is set: HTTP/2 frames are
    /// small and latency-bound.
    public static func connect(host: String, port: UInt16, timeout: Duration = .seconds(10),
                               nonBlocking: Bool = false) throws(IOError) -> Socket {
        try SocketAddress.withSockaddr(host: host, port: port) { (family, addr, len) throws(IOError) -> Socket in
            let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
            let fd = Int32(try Syscall.checked("socket") { Int(Glibc.socket(family, type, 0)) })
            let socket = Socket(adopting: fd)
            if Glibc.connect(fd, addr, len) != 0 {
                let err = errno
                // EINTR on a non-blocking connect also continues asynchronously.
                guard err == EINPROGRESS || err == EINTR else { throw IOError(errno: err, call: "connect") }
                try socket.awaitConnected(timeout: timeout)
            }
            if !nonBlocking { try socket.setBlocking(true) }
            try socket.setNoDelay()
            return socket
        }
    }

    private func awaitConnected(timeout: Duration) throws(IOError) {
        var pfd = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
        let ms = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let ready = try Syscall.checked("poll") { Int(Glibc.poll(&pfd, 1, ms)) }
        if ready == 0 { throw IOError(errno: ETIMEDOUT, call: "connect") }
        let pending = try option(SOL_SOCKET, SO_ERROR, "getsockopt(SO_ERROR)")
        if pending != 0 { throw IOError(errno: pending, call: "connect") }
    }

    // MARK: - Options

    /// Disables Nagle: TLS records and HTTP/2 frames should leave immediately.
    public func setNoDelay(_ enabled: Bool = true) throws(IOError) {
        try setOption(Int32(IPPROTO_TCP), TCP_NODELAY, enabled ? 1 : 0, "setsockopt(TCP_NODELAY)")
    }

    /// SO_SNDBUF (the kernel doubles the value and applies a floor).
    public func setSendBufferSize(_ bytes: Int32) throws(IOError) {
        try setOption(SOL_SOCKET, SO_SNDBUF, bytes, "setsockopt(SO_SNDBUF)")
    }

    /// SO_RCVBUF (the kernel doubles the value and applies a floor).
    public func setReceiveBufferSize(_ bytes: Int32) throws(IOError) {
        try setOption(SOL_SOCKET, SO_RCVBUF, bytes, "setsockopt(SO_RCVBUF)")
    }

    /// SO_RCVTIMEO for blocking sockets (tests, tools): a stuck peer fails
    /// the read with `EAGAIN` instead of hanging forever.
    public func setReceiveTimeout(_ timeout: Duration) throws(IOError) {
        var tv = timeval(tv_sec: Int(timeout.components.seconds),
                         tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        try Syscall.checked("setsockopt(SO_RCVTIMEO)") {
            Int(setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size)))
        }
    }

    /// Switches O_NONBLOCK off (`true`) or on (`false`).
    public func setBlocking(_ blocking: Bool) throws(IOError) {
        let flags = try Syscall.checked("fcntl(F_GETFL)") { Int(fcntl(descriptor, F_GETFL)) }
        let nonblock = Int(O_NONBLOCK)
        let updated = blocking ? flags & ~nonblock : flags | nonblock
        try Syscall.checked("fcntl(F_SETFL)") { Int(fcntl(descriptor, F_SETFL, Int32(updated))) }
    }

    /// The locally bound port (after `listen(port: 0)`).
    public func localPort() throws(IOError) -> UInt16 {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        try withUnsafeMutablePointer(to: &storage) { (p) throws(IOError) in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sa) throws(IOError) in
                _ = try Syscall.checked("getsockname") { Int(getsockname(descriptor, sa, &len)) }
            }
        }
        return withUnsafePointer(to: &storage) { SocketAddress.describe(UnsafeRawPointer($0)).port }
    }

    func setOption(_ level: Int32, _ name: Int32, _ value: Int32, _ call: String) throws(IOError) {
        var v = value
        try Syscall.checked(call) {
            Int(setsockopt(descriptor, level, name, &v, socklen_t(MemoryLayout<Int32>.size)))
        }
    }

    func option(_ level: Int32, _ name: Int32, _ call: String) throws(IOError) -> Int32 {
        var v: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        try Syscall.checked(call) { Int(getsockopt(descriptor, level, name, &v, &len)) }
        return v
    }

    // MARK: - Data

    /// Accepts one pending connection as a non-blocking, close-on-exec fd
    /// (accept4: no window where a fork could inherit it).
    public func accept() throws(IOError) -> IOResult<(descriptor: Int32, peer: String)> {
        var storage = sockaddr_storage()
        var len = UInt32(MemoryLayout<sockaddr_storage>.size)
        let result = try Syscall.nonBlocking("accept4") {
            Int(withUnsafeMutablePointer(to: &storage) { capgate_accept4(descriptor, $0, &len) })
        }
        guard case .processed(let fd) = result else { return .wouldBlock }
        let (host, port) = withUnsafePointer(to: &storage) { SocketAddress.describe(UnsafeRawPointer($0)) }
        return .processed((Int32(fd), SocketAddress.format(host: host, port: port)))
    }

    /// Reads into `buffer`. `.processed(0)` means the peer closed (EOF).
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(IOError) -> IOResult<Int> {
        try Syscall.nonBlocking("read") { Glibc.read(descriptor, buffer.baseAddress, buffer.count) }
    }

    /// Writes from `bytes`; may write fewer bytes than given (partial write).
    public func write(_ bytes: UnsafeRawBufferPointer) throws(IOError) -> IOResult<Int> {
        // MSG_NOSIGNAL: no SIGPIPE from this write even if the process did
        // not ignore it (EPIPE is returned instead).
        try Syscall.nonBlocking("send") { Glibc.send(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Which direction(s) `shutdown(_:)` closes.
    public enum ShutdownDirection: Sendable { case read, write, both }

    /// Half- or full-close (sends FIN on `.write`) without releasing the fd.
    /// ENOTCONN (peer already gone) is not an error here.
    public func shutdown(_ direction: ShutdownDirection) throws(IOError) {
        let how: Int32
        switch direction {
        case .read: how = Int32(SHUT_RD)
        case .write: how = Int32(SHUT_WR)
        case .both: how = Int32(SHUT_RDWR)
        }
        if Glibc.shutdown(descriptor, how) != 0, errno != ENOTCONN {
            throw IOError(errno: errno, call: "shutdown")
        }
    }

    /// Closes the fd (idempotent). Deregister it from its loop first. Never
    /// retried: Linux frees the fd even when close reports EINTR.
    public func close() {
        guard descriptor >= 0 else { return }
        _ = Glibc.close(descriptor)
        descriptor = -1
    }

    /// Gives up ownership: returns the fd and leaves this object closed.
    public func takeDescriptor() -> Int32 {
        let fd = descriptor
        descriptor = -1
        return fd
    }
}
