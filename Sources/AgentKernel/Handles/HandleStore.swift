import Synchronization

/// Full results kept server-side behind an opaque handle id, with a TTL (docs/reference-semantics.md §9,
/// `handles.py`). Agents get a bounded Frame plus the handle and page through the rest
/// with `expand`, which re-checks the grant stored with the handle.
///
/// Memory is bounded three ways, as in the reference: an entry cap (oldest evicted
/// first), optional byte caps (an over-cap payload is rejected, the total is brought
/// back under budget oldest-first, never evicting the handle just stored), and expiry
/// (lazy on access, a sweep every 128th store). Thread-safe: one `Mutex` guards the
/// maps; data is copied out (copy-on-write) so queries run outside the lock.
public final class HandleStore: Sendable {
    /// Run `evictExpired` every N stores (`_EVICT_INTERVAL`).
    static let evictInterval = 128

    let defaultTTLSeconds: Double
    let maxEntries: Int
    let maxTotalBytes: Int?
    let maxEntryBytes: Int?
    let clock: any KernelClock
    let ids: any IDGenerator
    private let state = Mutex(State())
    /// Expand's last row layout (`TableRows.LayoutMemo`): repeated expands skip rebuilding it.
    let layouts = TableRows.LayoutMemo()

    /// What the table keeps per id: the handle and its data, and inline the bookkeeping
    /// eviction reads (liveness of heap elements, byte accounting), so sweeps and
    /// compactions never dereference the handle.
    ///
    /// Why no shared entry object around the handle and data: a `Handle` is already one
    /// reference (its box), so a look-up copies two references out of the lock instead of
    /// one, while the object cost an allocation on every store and, at the entry cap, a
    /// free of memory long out of the cache on every store (the evicted handle's).
    /// `seq` (unique per store) says whether a look-up's entry is still the current one.
    struct Stored {
        let seq: UInt64
        let size: Int
        let handle: Handle
        let data: JSONValue
    }

    struct State {
        var entries = IDTable<Stored>()  // handle id -> entry (code point keys; IDTable.swift)
        var byCreated = EvictionHeap()
        var byExpiry = EvictionHeap()
        var storeCount = 0
        var totalBytes = 0
        var nextSeq: UInt64 = 0

        /// Whether `e` is its handle's current element: the entry under its hash with its
        /// seq (seqs are unique, so that entry is the one `e` was pushed for).
        func isLive(_ e: EvictionHeap.Element) -> Bool { entries.index(hash: e.hash, seq: e.seq) }

        mutating func drop(_ id: CodePointKey) {
            if let e = entries.removeValue(forKey: id.string) { totalBytes -= e.size }
        }

        /// Drops the handle `e` (live) was pushed for, found by hash and seq.
        mutating func drop(_ e: EvictionHeap.Element) {
            if let size = entries.remove(hash: e.hash, where: { $0.seq == e.seq }, reading: { $0.size }) {
                totalBytes -= size
            }
        }

        /// Drops every handle with `expires_at <= now`; returns how many.
        mutating func evictExpired(now: Timestamp) -> Int {
            var n = 0
            while let top = byExpiry.min, top.time <= now.microseconds {
                byExpiry.popMin()
                if isLive(top) {
                    drop(top)
                    n += 1
                }
            }
            return n
        }

        /// The oldest live handle by `created_at` (insertion order on ties), removed
        /// from the heap; stale heap entries are discarded on the way.
        mutating func popOldest() -> EvictionHeap.Element? {
            while let top = byCreated.popMin() {
                if isLive(top) { return top }
            }
            return nil
        }

        /// Keeps lazily-deleted heap entries from outgrowing the live set.
        mutating func compactIfNeeded() {
            let limit = 2 * entries.count + 64
            guard byCreated.count > limit || byExpiry.count > limit else { return }
            let live = entries  // a read-only view, so the heaps can be mutated meanwhile
            let isLive = { (e: EvictionHeap.Element) in live.index(hash: e.hash, seq: e.seq) }
            if byCreated.count > limit { byCreated.compact(keeping: isLive) }
            if byExpiry.count > limit { byExpiry.compact(keeping: isLive) }
        }
    }

    /// `HandleStore(default_ttl_seconds, max_entries, max_total_bytes, max_entry_bytes)`.
    /// A byte cap <= 0 raises BudgetConfigError (the reference's messages).
    public init(defaultTTLSeconds: Double = 3600, maxEntries: Int = 10000, maxTotalBytes: Int? = nil,
                maxEntryBytes: Int? = nil, clock: any KernelClock = SystemClock(),
                ids: any IDGenerator = RandomUUIDGenerator()) throws(KernelError) {
        if let t = maxTotalBytes, t <= 0 {
            throw KernelError(.budgetConfigError, "max_total_bytes must be positive when set")
        }
        if let e = maxEntryBytes, e <= 0 {
            throw KernelError(.budgetConfigError, "max_entry_bytes must be positive when set")
        }
        self.defaultTTLSeconds = defaultTTLSeconds
        self.maxEntries = maxEntries
        self.maxTotalBytes = maxTotalBytes
        self.maxEntryBytes = maxEntryBytes
        self.clock = clock
        self.ids = ids
    }

    /// Number of resident handles (expired ones included until swept).
    public var count: Int { state.withLock { $0.entries.count } }

    /// Heap sizes including lazily deleted entries (tests check they stay bounded).
    var heapSizes: (created: Int, expiry: Int) { state.withLock { ($0.byCreated.count, $0.byExpiry.count) } }

    /// Estimated bytes resident (`current_bytes`). Without byte caps the sizes are not
    /// needed on the store path, so they are computed here, on demand (the estimate
    /// formats every number as Python would and was half the cost of a 200-row invoke).
    public var currentBytes: Int {
        state.withLock { s in
            tracksBytes ? s.totalBytes : s.entries.allValues.reduce(0) { $0 + SizeEstimate.estimatedSize($1.data) }
        }
    }

    /// Byte accounting is kept on the store path only when a byte cap needs it.
    private var tracksBytes: Bool { maxEntryBytes != nil || maxTotalBytes != nil }

    /// `store(cid, data, ttl_seconds, principal_id, constraints)` (docs/reference-semantics.md §9.2).
    public func store(capabilityID: String, data: JSONValue, ttlSeconds: Double? = nil, principalID: String = "",
                      constraints: JSONObject = [:]) throws(KernelError) -> Handle {
        let size: Int
        // The lower of the set caps, without the two arrays a `compactMap` and `min()` made
        // on every store.
        let rejectAt: Int? = switch (maxEntryBytes, maxTotalBytes) {
        case let (e?, t?): min(e, t)
        case let (e?, nil): e
        case let (nil, t?): t
        case (nil, nil): nil
        }
        if let rejectAt {
            // Early exit at the ceiling: an over-cap payload is never fully walked.
            size = SizeEstimate.estimatedSize(data, limit: rejectAt)
            if size > rejectAt {
                let capName = rejectAt == maxEntryBytes ? "max_entry_bytes" : "max_total_bytes"
                throw KernelError(.handleTooLarge,
                                  "Handle data for '\(capabilityID)' exceeds the \(rejectAt)-byte \(capName) ceiling; not stored.")
            }
        } else {
            size = 0  // not tracked without caps; see `currentBytes`
        }
        let now = clock.now()
        let handle = Handle(handleID: ids.next(), capabilityID: capabilityID, createdAt: now,
                            expiresAt: now.adding(seconds: ttlSeconds ?? defaultTTLSeconds),
                            totalRows: data.arrayValue?.count ?? 1, principalID: principalID, constraints: constraints)
        insert(handle, data: data, size: size, now: now)
        return handle
    }

    /// Keeps a handle another sidecar of a fleet stored (docs/deployment.md) under its own id,
    /// expiry and binding, so `expand` works here too; the same bounds as `store` apply.
    public func restore(_ handle: Handle, data: JSONValue) {
        insert(handle, data: data, size: tracksBytes ? SizeEstimate.estimatedSize(data) : 0, now: clock.now())
    }

    private func insert(_ handle: Handle, data: JSONValue, size: Int, now: Timestamp) {
        state.withLock { s in
            let seq = s.nextSeq
            s.nextSeq += 1
            // One hash and one probe (the id is new, so its slot is a cache miss worth paying
            // once). A repeated id (only possible with an injected generator) replaces the
            // old entry and its byte accounting instead of double-counting it; its heap
            // elements, under the old seq, are then stale.
            let h = s.entries.hash(handle.handleID)
            let stored = Stored(seq: seq, size: size, handle: handle, data: data)
            let replaced = s.entries.upsert(handle.handleID, hash: h, insert: { stored }) { old -> Int in
                let oldSize = old.size
                old = stored
                return oldSize
            }
            if let replaced { s.totalBytes -= replaced }
            s.totalBytes += size
            s.byCreated.push(.init(time: handle.createdAt.microseconds, seq: seq, hash: h))
            s.byExpiry.push(.init(time: handle.expiresAt.microseconds, seq: seq, hash: h))

            s.storeCount += 1
            if s.storeCount % Self.evictInterval == 0 { _ = s.evictExpired(now: now) }

            if s.entries.count > maxEntries {
                _ = s.evictExpired(now: now)
                var overflow = s.entries.count - maxEntries
                while overflow > 0, let oldest = s.popOldest() {
                    s.drop(oldest)
                    // With one TTL the oldest handle is also the first to expire: its expiry
                    // element, now dead, is dropped here instead of by a compaction that
                    // looked up every element of both queues once per ~10k stores.
                    if s.byExpiry.min?.seq == oldest.seq { s.byExpiry.popMin() }
                    overflow -= 1
                }
            }

            if let cap = maxTotalBytes, s.totalBytes > cap {
                _ = s.evictExpired(now: now)
                var kept: [EvictionHeap.Element] = []
                while s.totalBytes > cap, let oldest = s.popOldest() {
                    // The live element of the id just stored is the one with its seq.
                    if oldest.seq == seq {
                        kept.append(oldest)  // never evict the entry just stored
                        continue
                    }
                    s.drop(oldest)
                }
                for e in kept { s.byCreated.push(e) }
            }
            s.compactIfNeeded()
        }
    }

    /// `get(handle_id)`: the metadata and data. Unknown id -> HandleNotFound; expired
    /// (`expires_at <= now`) -> the entry is dropped and HandleExpired raised.
    public func get(_ handleID: String) throws(KernelError) -> (Handle, JSONValue) {
        try fetch(handleID, now: clock.now())
    }

    func fetch(_ handleID: String, now: Timestamp) throws(KernelError) -> (Handle, JSONValue) {
        guard let e = entry(handleID) else { throw Self.notFound(handleID) }
        return (e.handle, try data(of: e, now: now))
    }

    /// The entry stored under `handleID`, if any (no expiry check).
    func entry(_ handleID: String) -> Stored? {
        state.withLock { $0.entries[handleID] }
    }

    /// `e`'s data, or HandleExpired when `expires_at <= now`, after dropping it (lazy
    /// eviction on access, as the reference does) unless it was replaced meanwhile.
    func data(of e: Stored, now: Timestamp) throws(KernelError) -> JSONValue {
        guard e.handle.expiresAt <= now else { return e.data }
        let handleID = e.handle.handleID
        state.withLock { s in
            if s.entries.value(forKey: handleID, { $0.seq == e.seq }) == true { s.drop(CodePointKey(handleID)) }
        }
        throw KernelError(.handleExpired, "Handle '\(handleID)' expired at \(e.handle.expiresAt.isoformat).")
    }

    /// `get_meta`: metadata without an expiry check (nil when unknown).
    public func meta(_ handleID: String) -> Handle? {
        state.withLock { $0.entries.value(forKey: handleID) { $0.handle } }
    }

    /// `evict_expired()`: drops every expired handle; returns how many.
    @discardableResult
    public func evictExpired() -> Int {
        let now = clock.now()
        return state.withLock { s in
            let n = s.evictExpired(now: now)
            s.compactIfNeeded()
            return n
        }
    }

    static func notFound(_ handleID: String) -> KernelError {
        KernelError(.handleNotFound, "Handle '\(handleID)' not found. It may have been evicted.")
    }
}

extension IDTable<HandleStore.Stored> {
    /// Whether the entry under hash `h` with seq `seq` is present.
    func index(hash h: UInt64, seq: UInt64) -> Bool {
        contains(hash: h, where: { $0.seq == seq })
    }
}
