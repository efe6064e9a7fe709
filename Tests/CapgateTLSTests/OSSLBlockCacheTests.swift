import CapgateTesting
import COpenSSL
import COpenSSLShims
import Foundation
import Glibc
import Testing

/// glibc's `malloc_usable_size` (malloc.h is not part of Swift's Glibc module).
@_silgen_name("malloc_usable_size")
private func malloc_usable_size(_ p: UnsafeMutableRawPointer?) -> Int

/// The per-thread cache of OpenSSL's small freed blocks (ossl_block_cache.c): the most
/// recently freed block of a size class comes back first, every block handed out holds the
/// request, the bounds hold, and OpenSSL's allocator semantics (NULL for 0 bytes, realloc's
/// edge cases) are kept. Each case runs on a thread of its own: the cache is per thread.
@Suite struct OSSLBlockCacheTests {
    /// Runs `body` on a new thread (a fresh, empty cache) and drains that cache afterwards.
    func onFreshThread(_ body: @escaping @Sendable () -> Void) {
        let done = DispatchSemaphore(value: 0)
        let t = Thread {
            body()
            capgate_ossl_cache_drain()
            done.signal()
        }
        t.start()
        done.wait()
    }

    static func stats() -> (blocks: Int, bytes: Int) {
        var blocks = 0, bytes = 0
        capgate_ossl_cache_thread_stats(&blocks, &bytes)
        return (blocks, bytes)
    }

    static func malloc(_ n: Int) -> UnsafeMutableRawPointer? { capgate_ossl_cache_malloc(n, nil, 0) }
    static func free(_ p: UnsafeMutableRawPointer?) { capgate_ossl_cache_free(p, nil, 0) }

    @Test func theLastFreedBlockOfAClassComesBackFirst() {
        onFreshThread {
            // Two blocks in 64-byte chunks (56 usable); glibc may give a larger chunk when the
            // rest of a free one is too small to split off: those are set aside.
            var others: [UnsafeMutableRawPointer] = []
            var pair: [UnsafeMutableRawPointer] = []
            while pair.count < 2 {
                let p = Self.malloc(48 + pair.count * 2)!
                if malloc_usable_size(p) == 56 { pair.append(p) } else { others.append(p) }
            }
            defer { others.forEach { Glibc.free($0) } }
            let a = pair[0], b = pair[1]
            Self.free(a)
            Self.free(b)
            #expect(Self.stats().blocks == 2)
            #expect(Self.stats().bytes == 2 * 56)
            let next = Self.malloc(57)!  // the next class up: not from this one
            #expect(next != a && next != b)
            #expect(Self.stats().blocks == 2)
            let first = Self.malloc(56)
            let second = Self.malloc(41)
            #expect(first == b)
            #expect(second == a)
            #expect(Self.stats().blocks == 0 && Self.stats().bytes == 0)
            Self.free(next)
            Self.free(first)
            Self.free(second)
        }
    }

    @Test func everyBlockHandedOutHoldsTheRequest() {
        onFreshThread {
            var rng = SplitMix64(seed: 0x0551_b10c)
            // Free blocks of every small size, then ask for random sizes: whatever the cache
            // answers must be at least as large as asked, and writable end to end.
            var held: [UnsafeMutableRawPointer] = []
            for n in 1...CAPGATE_OSSL_CACHE_MAX_REQUEST { held.append(Self.malloc(Int(n))!) }
            held.forEach(Self.free)
            held.removeAll()
            for _ in 0..<20_000 {
                let n = Int(rng.next() % UInt64(CAPGATE_OSSL_CACHE_MAX_REQUEST + 200)) + 1
                let p = Self.malloc(n)!
                #expect(malloc_usable_size(p) >= n)
                memset(p, 0xA5, n)
                if rng.next() % 2 == 0 { Self.free(p) } else { held.append(p) }
            }
            held.forEach(Self.free)
        }
    }

    /// What the cache must hold after `blocks` are freed in order onto an empty cache: the
    /// bounds replayed on the blocks' glibc sizes (glibc may hand out a chunk larger than asked
    /// when the rest would be too small to split off).
    static func expectedAfterFreeing(_ blocks: [UnsafeMutableRawPointer]) -> (blocks: Int, bytes: Int) {
        var perClass: [Int: Int] = [:]
        var count = 0, bytes = 0
        for p in blocks {
            let k = (malloc_usable_size(p) + 8) / 16
            let usable = k * 16 - 8
            guard usable <= Int(CAPGATE_OSSL_CACHE_MAX_REQUEST), perClass[k, default: 0] < Int(CAPGATE_OSSL_CACHE_DEPTH),
                  bytes + usable <= Int(CAPGATE_OSSL_CACHE_THREAD_BYTES) else { continue }
            perClass[k, default: 0] += 1
            count += 1
            bytes += usable
        }
        return (count, bytes)
    }

    @Test func depthPerClassAndBytesPerThreadAreBounded() {
        onFreshThread {
            let depth = Int(CAPGATE_OSSL_CACHE_DEPTH)
            // glibc may hand a malloc(8) a 32- or a 48-byte chunk (and, rarely, larger) depending
            // on the heap the earlier tests left, so the blocks can spread over a few classes:
            // 4 x depth + 100 of them overfill at least one class whatever the spread over <= 4.
            let count = 4 * depth + 100
            let small = (0..<count).map { _ in Self.malloc(8)! }
            let smallExpected = Self.expectedAfterFreeing(small)
            small.forEach(Self.free)
            #expect(Self.stats() == smallExpected)
            #expect(smallExpected.blocks < count)  // the depth bound did refuse some
            capgate_ossl_cache_drain()
            #expect(Self.stats() == (0, 0))

            // Enough classes of ~1 KiB blocks, each filled to its depth, to pass the byte bound.
            let cap = Int(CAPGATE_OSSL_CACHE_THREAD_BYTES)
            let sizes = stride(from: Int(CAPGATE_OSSL_CACHE_MAX_REQUEST), through: 504, by: -16)
            let classes = cap / (depth * 504) + 2
            let big = sizes.prefix(classes).flatMap { n in (0..<depth).map { _ in Self.malloc(n)! } }
            let bigExpected = Self.expectedAfterFreeing(big)
            big.forEach(Self.free)
            #expect(Self.stats() == bigExpected)
            #expect(bigExpected.bytes <= cap && bigExpected.bytes > cap - 1016)  // the byte bound decided
        }
    }

    @Test func largerRequestsGoStraightToGlibc() {
        onFreshThread {
            let p = Self.malloc(Int(CAPGATE_OSSL_CACHE_MAX_REQUEST) + 1)!
            #expect(malloc_usable_size(p) > Int(CAPGATE_OSSL_CACHE_MAX_REQUEST))
            Self.free(p)
            #expect(Self.stats().blocks == 0)
        }
    }

    @Test func openSSLAllocatorSemanticsAreKept() {
        onFreshThread {
            #expect(Self.malloc(0) == nil)
            Self.free(nil)
            #expect(Self.stats().blocks == 0)
            let p = capgate_ossl_cache_realloc(nil, 10, nil, 0)!
            memcpy(p, "0123456789", 10)
            let q = capgate_ossl_cache_realloc(p, 5000, nil, 0)!
            #expect(memcmp(q, "0123456789", 10) == 0)
            let r = capgate_ossl_cache_realloc(q, 100, nil, 0)!
            #expect(memcmp(r, "0123456789", 10) == 0)
            #expect(capgate_ossl_cache_realloc(r, 0, nil, 0) == nil)  // frees r: into the cache
            #expect(Self.stats().blocks == 1)
            #expect(Self.malloc(malloc_usable_size(r)) == r)
            Self.free(r)
        }
    }

    @Test func installIsRefusedOnceOpenSSLHasAllocated() {
        // serve installs first thing; here OpenSSL has allocated, and OpenSSL keeps its own
        // allocator (a refusal changes nothing).
        let p = CRYPTO_malloc(16, nil, 0)
        CRYPTO_free(p, nil, 0)
        #expect(capgate_ossl_cache_install() == 0)
    }
}
