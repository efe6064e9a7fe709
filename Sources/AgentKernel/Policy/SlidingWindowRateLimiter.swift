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

    /// A key's entry, boxed so that the dictionary and the last-pair memo reach the same
    /// log and it is updated in place.
    private final class Slot {
        var entry: Entry
        init(_ entry: Entry) { self.entry = entry }
    }

    /// The last `(principal, capability)` acquired and the slot of its key. Valid while that
    /// slot is in `entries`: every removal (an emptied key, a sweep) clears it.
    private struct LastPair {
        let principalID: String
        let capabilityID: String
        let slot: Slot
    }

    private struct State {
        var entries: [String: Slot] = [:]
        var calls = 0
        var last: LastPair?

        /// The slot of `key`, created empty when absent.
        mutating func slot(_ key: String, window: Double) -> Slot {
            if let slot = entries[key] { return slot }
            let slot = Slot(Entry(window: window))
            entries[key] = slot
            return slot
        }
    }

    static let sweepEvery = 1024
    private let state = Mutex(State())

    public init() {}

    /// Keeps the hits with `t > now - window`; if none remain the key is forgotten and the
    /// call is allowed, otherwise it is allowed iff fewer than `limit` remain. An allowed
    /// call records `now`. A denied call records nothing (only allowed grants consume quota).
    public func tryAcquire(key: String, limit: Int, window: Double, now: Double) -> Bool {
        state.withLock { s in
            Self.countCall(&s, now: now)
            let slot = s.slot(key, window: window)
            return Self.acquire(&s, slot, key: key, limit: limit, window: window, now: now)
        }
    }

    /// As `tryAcquire(key: rateLimitKey(principalID, capabilityID), ...)`. A grant repeating
    /// the previous call's pair (one agent's grants, the usual case) reuses that pair's slot:
    /// building the key (an allocation) and hashing it were half of the limiter's cost per
    /// grant. Equal pairs (`String ==`) join to keys the dictionary finds equal, so the slot
    /// is the one a look-up would find.
    public func tryAcquire(principalID: String, capabilityID: String, limit: Int, window: Double,
                           now: Double) -> Bool {
        state.withLock { s in
            Self.countCall(&s, now: now)
            if let last = s.last, last.principalID == principalID, last.capabilityID == capabilityID {
                return Self.acquire(&s, last.slot, key: nil, limit: limit, window: window, now: now)
            }
            let key = rateLimitKey(principalID, capabilityID)
            let slot = s.slot(key, window: window)
            s.last = LastPair(principalID: principalID, capabilityID: capabilityID, slot: slot)
            return Self.acquire(&s, slot, key: key, limit: limit, window: window, now: now)
        }
    }

    /// Every `sweepEvery` calls, a sweep.
    private static func countCall(_ s: inout State, now: Double) {
        s.calls += 1
        if s.calls % sweepEvery == 0 { sweep(&s, now: now) }
    }

    /// Prune, decide, record, in place on the stored entry (no copy of the log); a key left
    /// empty is forgotten (`key` nil: the memo's, found again by its slot).
    private static func acquire(_ s: inout State, _ slot: Slot, key: String?, limit: Int, window: Double,
                                now: Double) -> Bool {
        // One access to the boxed entry (each is an exclusivity check).
        let (allowed, empty) = decide(&slot.entry, limit: limit, window: window, now: now)
        if empty {
            if let key { s.entries[key] = nil } else { s.entries = s.entries.filter { $0.value !== slot } }
            s.last = nil
        }
        return allowed
    }

    private static func decide(_ entry: inout Entry, limit: Int, window: Double, now: Double)
        -> (allowed: Bool, empty: Bool)
    {
        entry.prune(cutoff: now - window)
        entry.window = window
        let allowed = entry.count == 0 || entry.count < limit
        if allowed { entry.record(now) }
        return (allowed, entry.count == 0)
    }

    /// Records a hit admitted elsewhere (another sidecar of a fleet) without deciding anything:
    /// it counts against `key`'s window from `now` on.
    public func record(key: String, window: Double, now: Double) {
        state.withLock { s in
            Self.recordHit(&s.slot(key, window: window).entry, window: window, now: now)
        }
    }

    private static func recordHit(_ e: inout Entry, window: Double, now: Double) {
        e.prune(cutoff: now - window)
        e.window = window
        e.record(now)
    }

    /// Number of keys currently holding hits (for tests and metrics).
    public var keyCount: Int { state.withLock { $0.entries.count } }

    private static func sweep(_ s: inout State, now: Double) {
        s.entries = s.entries.filter { _, slot in
            let e = slot.entry
            return e.sorted ? (e.newest.map { $0 > now - e.window } ?? false)
                : e.hits[e.head...].contains { $0 > now - e.window }
        }
        s.last = nil
    }
}
