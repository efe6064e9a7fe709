import Glibc

/// Numeric socket addresses only: a listener address is configuration, and
/// resolving names (getaddrinfo) would block the loop and let DNS decide
/// what we bind to.
enum SocketAddress {
    /// Builds a `sockaddr_in`/`sockaddr_in6` from a numeric IPv4 or IPv6
    /// literal ("127.0.0.1", "::1", "[::1]") and runs `body` with it.
    static func withSockaddr<R>(
        host: String, port: UInt16,
        _ body: (Int32, UnsafePointer<sockaddr>, socklen_t) throws(IOError) -> R
    ) throws(IOError) -> R {
        var literal = host
        if literal.hasPrefix("["), literal.hasSuffix("]") {
            literal = String(literal.dropFirst().dropLast())
        }
        var v4 = sockaddr_in()
        if inet_pton(AF_INET, literal, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            return try withUnsafePointer(to: &v4) { (p) throws(IOError) -> R in
                try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sa) throws(IOError) -> R in
                    try body(AF_INET, sa, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        var v6 = sockaddr_in6()
        if inet_pton(AF_INET6, literal, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
            return try withUnsafePointer(to: &v6) { (p) throws(IOError) -> R in
                try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sa) throws(IOError) -> R in
                    try body(AF_INET6, sa, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        // EINVAL: not a numeric address (names are refused, see above).
        throw IOError(errno: EINVAL, call: "inet_pton(\(host))")
    }

    /// Formats an address as "1.2.3.4:port" or "[::1]:port" (for logs and
    /// per-IP limits). Returns ("?", 0) for families other than INET/INET6.
    static func describe(_ storage: UnsafeRawPointer) -> (host: String, port: UInt16) {
        let family = storage.load(as: sockaddr.self).sa_family
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(family) {
        case AF_INET:
            var sin = storage.load(as: sockaddr_in.self)
            _ = inet_ntop(AF_INET, &sin.sin_addr, &text, socklen_t(text.count))
            return (String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                    UInt16(bigEndian: sin.sin_port))
        case AF_INET6:
            var sin6 = storage.load(as: sockaddr_in6.self)
            _ = inet_ntop(AF_INET6, &sin6.sin6_addr, &text, socklen_t(text.count))
            return (String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                    UInt16(bigEndian: sin6.sin6_port))
        default:
            return ("?", 0)
        }
    }

    /// "host:port", bracketing IPv6 hosts (RFC 3986 authority form).
    static func format(host: String, port: UInt16) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
