import Synchronization

/// The in-memory audit trail (docs/reference-semantics.md §10.3; `trace.TraceStore`).
///
/// An insertion-ordered map keyed by `action_id`: re-recording an id overwrites it in place
/// (keeping its position, as a Python dict does) and never evicts. A new record beyond
/// `maxEntries` evicts the oldest (FIFO) and counts it in `evictedCount`; eviction discards
/// audit data, so durable deployments use a chained store instead. Thread-safe.
///
/// Storage is a slot array with a moving head (recording order) plus an id -> (absolute
/// position, trace) map, so record, overwrite, eviction and lookup are O(1) amortized
/// (compaction happens when half the slots are dead). The map holds the trace itself, not
/// only its position: `get` (every `explain`) is then one hash probe and one retain under
/// the lock, without a second, cache-cold read of the slot array.
public final class TraceStore: Sendable {
    private struct Indexed {
        var position: Int     // absolute position in `slots`
        var trace: ActionTrace
    }

    private struct State {
        var slots: [ActionTrace?] = []
        var head = 0          // first live slot
        var base = 0          // absolute position of slots[0]
        var positions = IDTable<Indexed>()  // action id -> position and trace (code point keys)
        var evicted = 0

        var count: Int { positions.count }

        mutating func compactIfNeeded() {
            guard head > 32 && head * 2 > slots.count else { return }
            slots.removeFirst(head)
            base += head
            head = 0
        }
    }

    private let state = Mutex(State())
    public let maxEntries: Int

    /// Throws `AgentKernelError("TraceStore max_entries must be positive, got <n>.")` for
    /// `maxEntries <= 0`.
    public init(maxEntries: Int = 10_000) throws(KernelError) {
        guard maxEntries > 0 else {
            throw KernelError(.agentKernelError, "TraceStore max_entries must be positive, got \(maxEntries).")
        }
        self.maxEntries = maxEntries
    }

    /// Stores `t`, overwriting a record with the same action id in place, then evicts the
    /// oldest records while over capacity.
    public func record(_ t: ActionTrace) {
        state.withLock { s in
            let fresh = s.base + s.slots.count
            let overwritten: Int? = s.positions.upsert(t.actionID, insert: { Indexed(position: fresh, trace: t) }) { e in
                e.trace = t
                return e.position
            }
            if let pos = overwritten {
                s.slots[pos - s.base] = t
                return
            }
            s.slots.append(t)
            while s.count > maxEntries {
                // The head slot is always live: dead slots only exist before `head`. Only
                // its id is read (copying the whole trace out retained every field).
                let oldestID = s.slots[s.head]!.actionID
                s.slots[s.head] = nil
                s.head += 1
                s.positions.remove(oldestID)
                s.evicted += 1
            }
            s.compactIfNeeded()
        }
    }

    /// The trace of `actionID`. Throws `AgentKernelError("No action trace found for
    /// action_id='<id>'.")` with site `.traceNotFound`.
    public func get(_ actionID: String) throws(KernelError) -> ActionTrace {
        let found = state.withLock { s in s.positions.value(forKey: actionID, \.trace) }
        guard let t = found else {
            throw KernelError(.agentKernelError, "No action trace found for action_id='\(actionID)'.",
                              site: .traceNotFound)
        }
        return t
    }

    /// Every retained trace in insertion order (`list_all`).
    public func list() -> [ActionTrace] {
        state.withLock { s in s.slots[s.head...].compactMap { $0 } }
    }

    /// Filter, order and paginate (`query`); see `TraceQuery.apply(to:)`.
    public func query(_ q: TraceQuery) throws(KernelError) -> [ActionTrace] {
        try q.apply(to: list())
    }

    /// How many records eviction has dropped since creation.
    public var evictedCount: Int { state.withLock { $0.evicted } }

    /// Number of retained traces.
    public var count: Int { state.withLock { $0.count } }
}
