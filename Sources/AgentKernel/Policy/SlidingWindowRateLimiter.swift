import Synchronization

/// Sliding-window log rate limiter (docs/reference-semantics.md §5.2, `rate_limit.RateLimiter`).
///
/// The reference checks and records in two steps with no lock; under concurrent grants
/// that lets requests slip past the limit (docs/reference-semantics.md §12.3 item 12). Here `tryAcquire` prunes,
/// decides and records as one operation under a `Mutex`.
///
/// Memory is bounded: a key whose log empties is deleted (as in the reference), and every
/// 1024 acquisitions a sweep deletes keys whose newest hit has left its window, so
/// principals that never return do not accumulate.
public final class SlidingWindowRateLimiter: RateLimiting {
    /// One key's log. Hits arrive in clock order, so expired hits are a prefix: pruning
    /// advances `head` (O(1) amortized) instead of filtering the whole log on every call,
    /// which made a large limit cost O(limit) per grant. A clock that steps backwards
    /// clears `sorted`, and the log falls back to the reference's full filter.
    private struct Entry {
        var hits: [Double] = []
        var head = 0
        var window: Double
        var sorted = true

        var count: Int { hits.count - head }

        mutating func prune(cutoff: Double) {
            if sorted {
                while head < hits.count && !(hits[head] > cutoff) { head += 1 }
                // Compact once the dead prefix dominates, keeping memory proportional to
                // the live hits.
                if head > 32 && head * 2 > hits.count {
                    hits.removeFirst(head)
                    head = 0
                }
            } else {
                hits = hits[head...].filter { $0 > cutoff }
                head = 0
                sorted = zip(hits, hits.dropFirst()).allSatisfy { $0 <= $1 }
            }
        }

        mutating func record(_ now: Double) {
            if let last = hits.last, count > 0, now < last { sorted = false }
            hits.append(now)
        }

        var newest: Double? { count > 0 ? hits.last : nil }
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
            let (allowed, empty) = Self.acquire(&s.entries[key, default: Entry(window: window)], limit: limit,
                                                window: window, cutoff: cutoff, now: now)
            if empty { s.entries[key] = nil }
            return allowed
        }
    }

    /// Prune, decide, record, in place on the stored entry (no copy of the log).
    private static func acquire(_ entry: inout Entry, limit: Int, window: Double, cutoff: Double, now: Double)
        -> (allowed: Bool, empty: Bool)
    {
        entry.prune(cutoff: cutoff)
        entry.window = window
        let allowed = entry.count == 0 || entry.count < limit
        if allowed { entry.record(now) }
        return (allowed, entry.count == 0)
    }

    /// Records a hit admitted elsewhere (another sidecar of a fleet) without deciding anything:
    /// it counts against `key`'s window from `now` on.
    public func record(key: String, window: Double, now: Double) {
        state.withLock { s in
            var e = s.entries[key] ?? Entry(window: window)
            e.prune(cutoff: now - window)
            e.window = window
            e.record(now)
            s.entries[key] = e
        }
    }

    /// Number of keys currently holding hits (for tests and metrics).
    public var keyCount: Int { state.withLock { $0.entries.count } }

    private static func sweep(_ s: inout State, now: Double) {
        s.entries = s.entries.filter { _, e in
            e.sorted ? (e.newest.map { $0 > now - e.window } ?? false) : e.hits[e.head...].contains { $0 > now - e.window }
        }
    }
}
