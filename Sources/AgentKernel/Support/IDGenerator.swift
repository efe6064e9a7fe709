import COpenSSLShims

/// Produces the random identifiers the kernel hands out (`token_id`, `audit_id`,
/// `action_id`, `handle_id`): lowercase UUIDv4 strings like Python's `uuid4()`.
/// Injected so parity replays can use deterministic ids.
public protocol IDGenerator: Sendable {
    func next() -> String
}

/// UUIDv4 from OpenSSL's CSPRNG. Identifiers double as capabilities (a handle id is
/// checked against its principal, but an action id alone selects a trace), so they must
/// be unpredictable.
public struct RandomUUIDGenerator: IDGenerator {
    public init() {}
    public func next() -> String {
        var b = [UInt8](repeating: 0, count: 16)
        // RAND_bytes failing means the CSPRNG is unusable: continuing would hand out
        // guessable ids, so stop (an invariant, not untrusted input).
        precondition(capgate_random_bytes(&b, 16) == 1, "CSPRNG failure")
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        return UUIDFormat.string(b)
    }
}

enum UUIDFormat {
    static let hex: [UInt8] = Array("0123456789abcdef".utf8)
    static func string(_ b: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, x) in b.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(hex[Int(x >> 4)])
            out.append(hex[Int(x & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
