#if canImport(Glibc)
import Glibc
#endif

/// Formats iPAddress SAN bytes for display and comparison (inet_ntop gives RFC 5952 text for
/// IPv6, so "::1" round-trips).
enum IPAddressText {
    static func format(_ bytes: [UInt8]) -> String {
        let family: Int32
        switch bytes.count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return bytes.map { String($0, radix: 16) }.joined(separator: ":")  // malformed: show raw
        }
        var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &out, socklen_t(out.count)) }
        return ok == nil ? "" : cString(out)
    }

    /// Text -> 4 or 16 bytes (inet_pton), nil when it is not an IP address.
    static func parse(_ text: String) -> [UInt8]? {
        var v4 = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, text, &v4) == 1 { return v4 }
        var v6 = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET6, text, &v6) == 1 { return v6 }
        return nil
    }
}
