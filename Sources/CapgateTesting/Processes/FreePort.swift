import Glibc

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read back, released):
/// for servers a test starts as separate processes (`capgate serve`, PostgreSQL) that cannot
/// report the port they picked. Another process may take it first; tests retry or fail loudly.
public func freeLoopbackPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw FreePortError(errno: errno) }
    return UInt16(bigEndian: addr.sin_port)
}

public struct FreePortError: Error, CustomStringConvertible {
    public let errno: Int32
    public var description: String { "no free loopback port (errno \(errno))" }
}
