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
///
/// Why one block per thread (pthread-specific data), not one shared block behind a lock:
/// every verb draws an id, and the lock pair was one of a quickstart `expand`'s six
/// (~3% of it). A thread's block is only ever touched by that thread, so draws need no
/// synchronization at all; two threads never hand out the same bytes because each
/// block holds its own CSPRNG output. A thread's block is zeroed and freed when the
/// thread exits. In a forked child the generation check discards the inherited block.
enum IDEntropy {
    static let blockSize = 2048

    /// A thread's block: a header (the fork generation it was filled in, how many bytes
    /// are spent), then `blockSize` bytes of which only the unspent ones are non-zero.
    private struct Header {
        var generation: UInt64
        var used: Int
    }
    private static let headerSize = MemoryLayout<Header>.stride
    private static let allocationSize = headerSize + blockSize

    /// Bumped in a forked child, which then refills before its next id.
    private static let forkGeneration = Atomic<UInt64>(0)
    private static let registerForkHandler: Void = {
        _ = pthread_atfork(nil, nil, { IDEntropy.forkGeneration.add(1, ordering: .sequentiallyConsistent) })
    }()
    /// The key of each thread's block; its destructor zeroes and frees the block.
    private static let blockKey: pthread_key_t = {
        var key = pthread_key_t()
        let rc = pthread_key_create(&key) { block in
            guard let block else { return }
            memset(block, 0, IDEntropy.allocationSize)
            free(block)
        }
        precondition(rc == 0, "pthread_key_create failed")
        return key
    }()

    /// This thread's block, allocated (empty, so the first draw fills it) on first use.
    private static func threadBlock() -> UnsafeMutableRawPointer {
        if let block = pthread_getspecific(blockKey) { return block }
        guard let block = calloc(1, allocationSize) else { fatalError("IDEntropy: out of memory") }
        block.storeBytes(of: Header(generation: 0, used: blockSize), as: Header.self)
        precondition(pthread_setspecific(blockKey, block) == 0, "pthread_setspecific failed")
        return block
    }

    /// Fills `out` (at most `blockSize` bytes) with CSPRNG output.
    static func take(_ out: UnsafeMutableRawBufferPointer) {
        registerForkHandler
        precondition(out.count <= blockSize)
        let generation = forkGeneration.load(ordering: .sequentiallyConsistent)
        let block = threadBlock()
        let bytes = block + headerSize
        var header = block.load(as: Header.self)
        if header.generation != generation || blockSize - header.used < out.count {
            // RAND_bytes failing means the CSPRNG is unusable: continuing would hand out
            // guessable ids, so stop (an invariant, not untrusted input).
            let ok = capgate_random_bytes(bytes.assumingMemoryBound(to: UInt8.self), Int32(blockSize))
            precondition(ok == 1, "CSPRNG failure")
            header = Header(generation: generation, used: 0)
        }
        let src = bytes + header.used
        out.baseAddress?.copyMemory(from: src, byteCount: out.count)
        // Handed-out bytes do not stay behind in the block.
        if out.count == 16 {
            src.storeBytes(of: 0, as: UInt64.self)
            src.storeBytes(of: 0, toByteOffset: 8, as: UInt64.self)
        } else {
            memset(src, 0, out.count)
        }
        header.used += out.count
        block.storeBytes(of: header, as: Header.self)
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
