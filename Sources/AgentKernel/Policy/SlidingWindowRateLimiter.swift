import Synchronization

/// Sliding-window log rate limiter (spec §5.2, `rate_limit.RateLimiter`).
///
/// The reference checks and records in two steps with no lock; under concurrent grants
/// that lets requests slip past the limit (spec §12.3 item 12). Here `tryAcquire` prunes,
/// decides and records as one operation under a `Mutex`.
///
/// Memory is bounded: a key whose log empties is deleted (as in the reference), and every
/// 1024 acquisitions a sweep deletes keys whose newest hit has left its window, so
/// principals that never return do not accumulate.
public final class SlidingWindowRateLimiter: Sendable {
    private struct Entry {
        var hits: [Double]
        var window: Double
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var calls = 0
    }

    static let sweepEvery = 1024
    private let state = Mutex(State())

    public init() {}

    /// Keeps the hits with `t > now - window`; if none remain the key is forgotten and the
    /// call is allowed, otherwise it is allowed iff fewer than `limit` remain. An allowed
    /// call records `now`. A denied call records nothing (only allowed grants consume quota).
    public func tryAcquire(key: String, limit: Int, window: Double, now: Double) -> Bool {
        state.withLock { s in
            s.calls += 1
            if s.calls % Self.sweepEvery == 0 { Self.sweep(&s, now: now) }
            let cutoff = now - window
            var entry = s.entries.removeValue(forKey: key) ?? Entry(hits: [], window: window)
            entry.hits.removeAll { !($0 > cutoff) }
            entry.window = window
            let allowed = entry.hits.isEmpty || entry.hits.count < limit
            if allowed { entry.hits.append(now) }
            if !entry.hits.isEmpty { s.entries[key] = entry }
            return allowed
        }
    }

    /// Number of keys currently holding hits (for tests and metrics).
    public var keyCount: Int { state.withLock { $0.entries.count } }

    private static func sweep(_ s: inout State, now: Double) {
        s.entries = s.entries.filter { _, e in e.hits.contains { $0 > now - e.window } }
    }
}
