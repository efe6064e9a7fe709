import COpenSSLShims
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

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
        var b: (UInt64, UInt64) = (0, 0)
        return withUnsafeMutableBytes(of: &b) { raw in
            IDEntropy.take(raw)
            let p = raw.bindMemory(to: UInt8.self)
            p[6] = (p[6] & 0x0F) | 0x40
            p[8] = (p[8] & 0x3F) | 0x80
            return UUIDFormat.string(UnsafeBufferPointer(p))
        }
    }
}

/// The random bytes of ids, drawn from OpenSSL's CSPRNG a block at a time.
///
/// Why a block: each `RAND_bytes` call re-keys the DRBG's cipher context, looks up its
/// parameters and checks the process id, ~0.7 µs here whatever the length, and a grant
/// draws two ids (a third of it, in perf with DWARF call graphs). One call now serves 128
/// ids (512 bytes, 32 ids, still left the call's fixed part at ~1% of a grant). The block only ever holds bytes not yet handed out; a forked child discards its
/// copy (`pthread_atfork`), so parent and child never hand out the same ids.
enum IDEntropy {
    static let blockSize = 2048

    private struct Pool {
        var bytes = [UInt8](repeating: 0, count: IDEntropy.blockSize)
        var used = IDEntropy.blockSize
        var generation: UInt64 = 0
    }

    private static let pool = Mutex(Pool())
    /// Bumped in a forked child, which then refills before its next id.
    private static let forkGeneration = Atomic<UInt64>(0)
    private static let registerForkHandler: Void = {
        _ = pthread_atfork(nil, nil, { IDEntropy.forkGeneration.add(1, ordering: .sequentiallyConsistent) })
    }()

    /// Fills `out` (at most `blockSize` bytes) with CSPRNG output.
    static func take(_ out: UnsafeMutableRawBufferPointer) {
        registerForkHandler
        precondition(out.count <= blockSize)
        let generation = forkGeneration.load(ordering: .sequentiallyConsistent)
        pool.withLock { p in
            if p.generation != generation || blockSize - p.used < out.count {
                // RAND_bytes failing means the CSPRNG is unusable: continuing would hand out
                // guessable ids, so stop (an invariant, not untrusted input).
                let ok = p.bytes.withUnsafeMutableBufferPointer {
                    capgate_random_bytes($0.baseAddress, Int32(blockSize))
                }
                precondition(ok == 1, "CSPRNG failure")
                p.used = 0
                p.generation = generation
            }
            p.bytes.withUnsafeMutableBytes { src in
                let block = UnsafeMutableRawBufferPointer(rebasing: src[p.used..<(p.used + out.count)])
                out.copyMemory(from: UnsafeRawBufferPointer(block))
                // Handed-out bytes do not stay behind in the pool.
                block.initializeMemory(as: UInt8.self, repeating: 0)
            }
            p.used += out.count
        }
    }
}

enum UUIDFormat {
    static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// The 8-4-4-4-12 lowercase form of 16 bytes.
    static func string(_ b: UnsafeBufferPointer<UInt8>) -> String {
        precondition(b.count == 16)
        return String(unsafeUninitializedCapacity: 36) { out in
            let digits: StaticString = "0123456789abcdef"
            let hex = digits.utf8Start
            var o = 0
            for i in 0..<16 {
                if i == 4 || i == 6 || i == 8 || i == 10 { out[o] = UInt8(ascii: "-"); o += 1 }
                out[o] = hex[Int(b[i] >> 4)]
                out[o + 1] = hex[Int(b[i] & 0xF)]
                o += 2
            }
            return o
        }
    }
}
