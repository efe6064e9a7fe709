import CLibcShims
import Synchronization

/// The in-memory audit trail (docs/reference-semantics.md §10.3; `trace.TraceStore`).
///
/// An insertion-ordered map keyed by `action_id`: re-recording an id overwrites it in place
/// (keeping its position, as a Python dict does) and never evicts. A new record beyond
/// `maxEntries` evicts the oldest (FIFO) and counts it in `evictedCount`; eviction discards
/// audit data, so durable deployments use a chained store instead. Thread-safe.
///
/// Storage is the table of id -> (absolute position, trace) plus, in recording order, each
/// record's id hash (a moving head; compaction when half the array is spent), so record,
/// overwrite, eviction and lookup are O(1) amortized. The table holds the trace itself:
/// `get` (every `explain`) is one hash probe and one retain under the lock.
///
/// Why hashes in the order array, not ids or traces: at capacity every record evicts the
/// oldest, whose memory has long left the cache. Its hash and position find its table entry
/// without reading its id or trace, and the record that evicts prefetches the entries the
/// next two records will evict (the table slot, then the id and trace it names), so those
/// misses overlap the caller's work instead of stalling the next record.
public final class TraceStore: Sendable {
    private struct Indexed {
        var position: Int     // absolute position in recording order
        var trace: ActionTrace
    }

    private struct State {
        var order: [UInt64] = []  // id hash of each record, oldest first, from `head` on
        var head = 0              // first live element of `order`
        var base = 0              // absolute position of order[0]
        var positions = IDTable<Indexed>()  // action id -> position and trace (code point keys)
        var evicted = 0

        var count: Int { positions.count }

        /// The record at absolute position `p` (live positions only).
        func trace(at p: Int) -> ActionTrace? {
            positions.value(hash: order[p - base], where: { $0.position == p }, \.trace)
        }

        /// Drops the oldest record. Its table entry is the one under its hash holding its
        /// position (positions are unique), so the id is never read.
        mutating func evictOldest() {
            let p = base + head
            let removed = positions.remove(hash: order[head], where: { $0.position == p })
            assert(removed, "TraceStore: the oldest record is always live")
            head += 1
            evicted += 1
        }

        /// Warms what the next evictions read, one step per record so each step's loads
        /// have arrived by the next: the table slot of the third oldest, the id and trace of
        /// the second oldest, what the oldest's trace owns (its own result summary's arrays).
        /// Entries are read as raw words (see `IDTable.prefetchEntry`), only to be prefetched.
        func prefetchVictims() {
            if head + 2 < order.count { positions.prefetch(hash: order[head + 2]) }
            if head + 1 < order.count {
                let p = base + head + 1
                positions.prefetchEntry(hash: order[head + 1], where: { $0.position == p }) { value in
                    capgate_prefetch(TraceStore.traceStorage(value))
                }
            }
            if head < order.count {
                let p = base + head
                positions.prefetchEntry(hash: order[head], where: { $0.position == p }) { value in
                    guard let storage = TraceStore.traceStorage(value) else { return }
                    // An own summary's two array references; a shared one's index (nothing
                    // to release, nothing to load) is below any address and skipped.
                    let summary = storage + TraceStore.summaryOffset
                    let keys = summary.load(as: UInt.self), values = summary.load(fromByteOffset: 8, as: UInt.self)
                    if keys >= 4096 { capgate_prefetch(UnsafeRawPointer(bitPattern: keys)) }
                    if values >= 4096 { capgate_prefetch(UnsafeRawPointer(bitPattern: values)) }
                }
            }
        }

        mutating func compactIfNeeded() {
            guard head > 32 && head * 2 > order.count else { return }
            order.removeFirst(head)
            base += head
            head = 0
        }
    }

    private let state = Mutex(State())
    /// Where a trace's result summary (two array references) sits in the trace's storage
    /// object: a native Swift object's two header words, then the fields.
    /// Computed, not stored: the optimizer folds the offsets to constants, where a stored
    /// static was a lazy global whose initialisation check was a call on every record.
    private static var summaryOffset: Int {
        @inline(__always) get { 16 + MemoryLayout<ActionTrace.Fields>.offset(of: \.resultSummary)! }
    }
    /// Where an `Indexed` keeps its trace.
    private static var traceOffset: Int { @inline(__always) get { MemoryLayout<Indexed>.offset(of: \.trace)! } }

    /// The storage object of the trace in the (live) `Indexed` at `value`: an `ActionTrace`
    /// is one reference to it, so its bits are the object's address.
    private static func traceStorage(_ value: UnsafeRawPointer) -> UnsafeRawPointer? {
        UnsafeRawPointer(bitPattern: value.load(fromByteOffset: traceOffset, as: UInt.self))
    }

    public let maxEntries: Int

    /// Throws `AgentKernelError("TraceStore max_entries must be positive, got <n>.")` for
    /// `maxEntries <= 0`.
    public init(maxEntries: Int = 10_000) throws(KernelError) {
        precondition(MemoryLayout<ActionTrace>.size == MemoryLayout<UInt>.size, "ActionTrace is one reference")
        guard maxEntries > 0 else {
            throw KernelError(.agentKernelError, "TraceStore max_entries must be positive, got \(maxEntries).")
        }
        self.maxEntries = maxEntries
    }

    /// Stores `t`, overwriting a record with the same action id in place, then evicts the
    /// oldest records while over capacity.
    public func record(_ t: consuming ActionTrace) {
        let id = t.actionID
        // Moved into whichever of the two closures runs (`take()`), never copied.
        var pending: ActionTrace? = consume t
        state.withLock { s in
            let h = s.positions.hash(id)
            let fresh = s.base + s.order.count
            let overwritten: Int? = s.positions.upsert(id, hash: h,
                                                       insert: { Indexed(position: fresh, trace: pending.take()!) }) { e in
                e.trace = pending.take()!
                return e.position
            }
            if overwritten != nil { return }
            s.order.append(h)
            while s.count > maxEntries { s.evictOldest() }
            s.compactIfNeeded()
            if s.count == maxEntries { s.prefetchVictims() }
        }
    }

    /// Starts loading the table slot a record of the fresh id `actionID` will fill.
    ///
    /// Why: the id is random, so its slot is a cache miss (the table spans more than the
    /// L2 cache at capacity). Filled inside `record`, that store's miss held up the next
    /// atomic operation (the lock's release waits for pending stores): ~8% of a quickstart
    /// `expand`. Issued when the id is drawn, the load overlaps the verb's own work. Only a
    /// prefetch: nothing is read or written, so a hint that is never followed by a record,
    /// or one for an id that exists already, changes nothing.
    public func willRecord(_ actionID: String) {
        state.withLock { s in s.positions.prefetch(hash: s.positions.hash(actionID)) }
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
        state.withLock { s in (s.base + s.head..<s.base + s.order.count).compactMap { s.trace(at: $0) } }
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
