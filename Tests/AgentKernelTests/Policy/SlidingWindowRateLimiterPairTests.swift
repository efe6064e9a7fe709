import CapgateTesting
import Testing
@testable import AgentKernel

/// `tryAcquire(principalID:capabilityID:...)` reuses the previous pair's window instead of
/// building and hashing the key: it must decide exactly as `tryAcquire(key:)` under
/// `"principal:capability"` does, on a model limiter fed the joined keys, including pairs
/// that join to one key, canonically equivalent spellings, emptied keys and sweeps.
@Suite struct SlidingWindowRateLimiterPairTests {
    /// Pairs chosen to collide and to repeat: ("a:b", "c") and ("a", "b:c") name one window,
    /// "é" and "e\u{301}" are equal Swift strings (one dictionary key), as in the reference's
    /// dict only up to that equivalence, which the key-based limiter shares.
    static let pairs: [(String, String)] = [
        ("a:b", "c"), ("a", "b:c"), ("alice", "billing.list_invoices"), ("alice", "tasks.list"),
        ("\u{e9}", "x"), ("e\u{301}", "x"), ("bob", "billing.list_invoices"), ("", ":"), (":", ""),
    ]

    @Test func pairCallsDecideAsTheJoinedKey() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<3 {
            let pairLimiter = SlidingWindowRateLimiter(), keyLimiter = SlidingWindowRateLimiter()
            var now = 100.0
            // Past two sweeps (every 1024 calls), with runs of one pair and random switches.
            for step in 0..<2600 {
                let (p, c) = Self.pairs[Int(rng.next() % UInt64(Self.pairs.count))]
                let limit = 1 + Int(rng.next() % 4)
                let window = [0.5, 1.0, 3.0][Int(rng.next() % 3)]
                let repeats = 1 + Int(rng.next() % 3)
                for _ in 0..<repeats {
                    now += Double(rng.next() % 100) / 200
                    let a = pairLimiter.tryAcquire(principalID: p, capabilityID: c, limit: limit, window: window, now: now)
                    let b = keyLimiter.tryAcquire(key: p + ":" + c, limit: limit, window: window, now: now)
                    #expect(a == b, "step \(step): \(p) \(c)")
                }
                #expect(pairLimiter.keyCount == keyLimiter.keyCount, "step \(step)")
            }
        }
    }

    /// A remote hit recorded under the key counts for the pair's memoized window.
    @Test func recordedHitsCountForTheMemoizedPair() {
        let l = SlidingWindowRateLimiter()
        #expect(l.tryAcquire(principalID: "p", capabilityID: "c", limit: 2, window: 10, now: 1))
        l.record(key: "p:c", window: 10, now: 2)
        #expect(!l.tryAcquire(principalID: "p", capabilityID: "c", limit: 2, window: 10, now: 3))
        #expect(l.tryAcquire(principalID: "p", capabilityID: "c", limit: 2, window: 10, now: 11.5))
    }

    /// The protocol's default (a limiter without its own pair path) uses the joined key.
    @Test func defaultPairPathUsesTheJoinedKey() {
        final class KeyRecorder: RateLimiting, @unchecked Sendable {
            var keys: [String] = []
            func tryAcquire(key: String, limit: Int, window: Double, now: Double) -> Bool {
                keys.append(key)
                return true
            }
        }
        let r = KeyRecorder()
        _ = r.tryAcquire(principalID: "a:b", capabilityID: "c", limit: 1, window: 1, now: 0)
        _ = r.tryAcquire(principalID: "\u{e9}", capabilityID: "", limit: 1, window: 1, now: 0)
        #expect(r.keys.map { Array($0.utf8) } == [Array("a:b:c".utf8), Array("\u{e9}:".utf8)])
    }
}
