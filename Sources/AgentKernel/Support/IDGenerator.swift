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
    /// The 8-4-4-4-12 lowercase form of 16 bytes.
    static func string(_ b: UnsafeBufferPointer<UInt8>) -> String {
        precondition(b.count == 16)
        return String(unsafeUninitializedCapacity: 36) { out in
            // Two digits per byte (`LowerHex`), the dashes at fixed places: two ids per
            // grant, and the digit-at-a-time loop with its dash tests was ~3%.
            let o = out.baseAddress!
            @inline(__always) func put(_ byte: Int, at i: Int) { LowerHex.write(b[byte], to: o + i) }
            put(0, at: 0); put(1, at: 2); put(2, at: 4); put(3, at: 6)
            o[8] = UInt8(ascii: "-")
            put(4, at: 9); put(5, at: 11)
            o[13] = UInt8(ascii: "-")
            put(6, at: 14); put(7, at: 16)
            o[18] = UInt8(ascii: "-")
            put(8, at: 19); put(9, at: 21)
            o[23] = UInt8(ascii: "-")
            for k in 0..<6 { put(10 + k, at: 24 + 2 * k) }
            return 36
        }
    }
}
