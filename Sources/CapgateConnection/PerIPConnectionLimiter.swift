import Synchronization

/// Caps concurrent connections per peer IP, on top of the global `ConnectionLimiter`.
///
/// Why: one host opening connections and holding them (slowloris, a runaway client) would
/// otherwise use up the whole global cap and lock every other agent out (docs/hardening.md
/// "Slowloris": per-IP and global caps). Shared by all loops, so it is locked; the critical
/// section is one dictionary update.
final class PerIPConnectionLimiter: Sendable {
    let maxPerIP: Int
    private let counts = Mutex<[String: Int]>([:])

    init(maxPerIP: Int) {
        self.maxPerIP = maxPerIP
    }

    /// Takes a slot for `ip`; false when the IP is at its cap.
    func tryAcquire(_ ip: String) -> Bool {
        counts.withLock { c in
            let n = c[ip, default: 0]
            guard n < maxPerIP else { return false }
            c[ip] = n + 1
            return true
        }
    }

    /// Returns a slot taken by `tryAcquire`.
    func release(_ ip: String) {
        counts.withLock { c in
            guard let n = c[ip] else { return }
            if n <= 1 { c[ip] = nil } else { c[ip] = n - 1 }
        }
    }

    /// Connections currently held by `ip`.
    func count(_ ip: String) -> Int { counts.withLock { $0[ip, default: 0] } }

    /// The IP part of an "ip:port" / "[v6]:port" peer string (the acceptor's format).
    static func ip(ofPeer peer: String) -> String {
        if peer.hasPrefix("["), let end = peer.firstIndex(of: "]") {
            return String(peer[peer.index(after: peer.startIndex)..<end])
        }
        if let colon = peer.lastIndex(of: ":") { return String(peer[..<colon]) }
        return peer
    }
}
