import Glibc

/// The key a peer's unauthenticated sockets are counted under (`PreAuthBudget`).
///
/// WHY grouped: before authentication the only thing known about a peer is its address, and an
/// IPv6 host usually owns a whole /64 (SLAAC, privacy addresses): counting exact addresses would
/// give one host 2^64 budgets. IPv4 addresses are counted one by one (NAT makes anything coarser
/// punish unrelated clients), and an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, a dual-stack
/// listener) counts as the IPv4 address it carries.
package enum SourceAddress {
    /// "a.b.c.d" for IPv4 (and IPv4-mapped IPv6), "prefix/len" for IPv6 with the host bits
    /// cleared, the input unchanged for anything that is not a numeric address (fail closed:
    /// it still gets a budget, just its own).
    package static func key(ofIP ip: String, ipv6PrefixLength: Int) -> String {
        var v4 = in_addr()
        if inet_pton(AF_INET, ip, &v4) == 1 { return ip }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, ip, &v6) == 1 else { return ip }
        var bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            return "\(bytes[12]).\(bytes[13]).\(bytes[14]).\(bytes[15])"
        }
        let bits = max(0, min(128, ipv6PrefixLength))
        for i in 0..<16 {
            let keep = max(0, min(8, bits - i * 8))
            bytes[i] &= keep == 8 ? 0xff : UInt8(truncatingIfNeeded: 0xff << (8 - keep))
        }
        bytes.withUnsafeBytes { raw in
            withUnsafeMutableBytes(of: &v6) { $0.copyMemory(from: raw) }
        }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &v6, &text, socklen_t(text.count)) != nil else { return ip }
        return String(cString: text) + "/\(bits)"
    }
}
