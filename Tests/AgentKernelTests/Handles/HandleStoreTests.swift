import Synchronization
import Testing
@testable import AgentKernel

/// HandleStore storage, expiry and bounded-memory housekeeping (docs/reference-semantics.md §9.1-9.2).
/// Eviction expectations were obtained from the reference, e.g.
/// python -c "from weaver_kernel.handles import HandleStore; s=HandleStore(max_total_bytes=100);
///   hs=[s.store('c','x'*38) for _ in range(3)]; print([h.handle_id in s._meta for h in hs], s.current_bytes)"
/// -> [False, True, True] 80
@Suite struct HandleStoreTests {
    func makeStore(_ clock: HandleTestClock = HandleTestClock(), maxEntries: Int = 10000, maxTotalBytes: Int? = nil,
                   maxEntryBytes: Int? = nil, ttl: Double = 3600) throws -> HandleStore {
        try HandleStore(defaultTTLSeconds: ttl, maxEntries: maxEntries, maxTotalBytes: maxTotalBytes,
                        maxEntryBytes: maxEntryBytes, clock: clock, ids: HandleTestIDs())
    }

    @Test func storeRecordsMetadataAndGetReturnsData() throws {
        let clock = HandleTestClock()
        let store = try makeStore(clock)
        let h = try store.store(capabilityID: "cap", data: [1, 2, 3], ttlSeconds: 10, principalID: "p",
                                constraints: ["max_rows": 2])
        #expect(h.handleID == "h-0" && h.totalRows == 3 && h.principalID == "p" && h.constraints == ["max_rows": 2])
        #expect(h.createdAt == clock.now() && h.expiresAt == clock.now().adding(seconds: 10))
        let (meta, data) = try store.get("h-0")
        #expect(meta == h && data == [1, 2, 3])
        // total_rows: len(list), else 1 (python: ... .total_rows for [1,2,3], {'a':1}, None -> 3 1 1)
        #expect(try store.store(capabilityID: "c", data: ["a": 1]).totalRows == 1)
        #expect(try store.store(capabilityID: "c", data: .null).totalRows == 1)
    }

    @Test func unknownHandleMessage() throws {
        let store = try makeStore()
        #expect(throws: KernelError(.handleNotFound, "Handle 'nope' not found. It may have been evicted.")) {
            try store.get("nope")
        }
        #expect(store.meta("nope") == nil)
    }

    @Test func expiryIsLazyAndEvictsOnAccess() throws {
        let clock = HandleTestClock(1_767_323_045_000_000)  // 2026-01-02T03:04:05+00:00
        let store = try makeStore(clock)
        let h = try store.store(capabilityID: "c", data: "x", ttlSeconds: 60)
        clock.advance(seconds: 60)  // expires_at <= now is expired
        #expect(store.meta(h.handleID) == h)  // get_meta: no expiry check
        #expect(throws: KernelError(.handleExpired, "Handle 'h-0' expired at 2026-01-02T03:05:05+00:00.")) {
            try store.get(h.handleID)
        }
        #expect(store.count == 0)
        #expect(throws: KernelError(.handleNotFound, "Handle 'h-0' not found. It may have been evicted.")) {
            try store.get(h.handleID)
        }
    }

    @Test func everyHundredTwentyEighthStoreSweepsExpired() throws {
        let clock = HandleTestClock()
        let store = try makeStore(clock)
        for _ in 0..<10 { _ = try store.store(capabilityID: "c", data: 1, ttlSeconds: 1) }
        clock.advance(seconds: 5)
        for _ in 0..<117 { _ = try store.store(capabilityID: "c", data: 1) }
        #expect(store.count == 127)  // 127 stores: no sweep yet
        _ = try store.store(capabilityID: "c", data: 1)
        #expect(store.count == 118)  // the 128th store swept the 10 expired
    }

    @Test func entryCapEvictsOldestFirst() throws {
        let store = try makeStore(maxEntries: 2)
        let hs = try (0..<3).map { _ in try store.store(capabilityID: "c", data: 1) }
        #expect(hs.map { store.meta($0.handleID) != nil } == [false, true, true])
        // max_entries=0 drops even the handle just stored (as in the reference).
        let zero = try makeStore(maxEntries: 0)
        _ = try zero.store(capabilityID: "c", data: 1)
        #expect(zero.count == 0)
    }

    @Test func entryCapPrefersExpiredVictims() throws {
        let clock = HandleTestClock()
        let store = try makeStore(clock, maxEntries: 2)
        let old = try store.store(capabilityID: "c", data: 1)
        let short = try store.store(capabilityID: "c", data: 1, ttlSeconds: 1)
        clock.advance(seconds: 2)
        let new = try store.store(capabilityID: "c", data: 1)
        #expect(store.meta(old.handleID) != nil && store.meta(short.handleID) == nil && store.meta(new.handleID) != nil)
    }

    @Test func byteCapEvictsOldestButNeverTheNewHandle() throws {
        let store = try makeStore(maxTotalBytes: 100)
        let hs = try (0..<3).map { _ in try store.store(capabilityID: "c", data: .string(String(repeating: "x", count: 38))) }
        #expect(hs.map { store.meta($0.handleID) != nil } == [false, true, true])
        #expect(store.currentBytes == 80)
        let h4 = try store.store(capabilityID: "c", data: .string(String(repeating: "y", count: 88)))
        #expect((hs + [h4]).map { store.meta($0.handleID) != nil } == [false, false, false, true])
        #expect(store.currentBytes == 90)
        let h5 = try store.store(capabilityID: "c", data: .string(String(repeating: "z", count: 98)))
        #expect(store.meta(h4.handleID) == nil && store.meta(h5.handleID) != nil && store.currentBytes == 100)
    }

    @Test func oversizedPayloadsAreRejectedWithTheBindingCapName() throws {
        let a = try makeStore(maxTotalBytes: 100)
        #expect(throws: KernelError(.handleTooLarge, "Handle data for 'c' exceeds the 100-byte max_total_bytes ceiling; not stored.")) {
            try a.store(capabilityID: "c", data: .string(String(repeating: "w", count: 99)))
        }
        #expect(a.count == 0)
        let b = try makeStore(maxTotalBytes: 50, maxEntryBytes: 50)
        #expect(throws: KernelError(.handleTooLarge, "Handle data for 'cap.big' exceeds the 50-byte max_entry_bytes ceiling; not stored.")) {
            try b.store(capabilityID: "cap.big", data: .array(Array(repeating: 1, count: 30)))
        }
    }

    @Test func nonPositiveByteCapsAreConfigErrors() {
        #expect(throws: KernelError(.budgetConfigError, "max_total_bytes must be positive when set")) {
            try HandleStore(maxTotalBytes: 0)
        }
        #expect(throws: KernelError(.budgetConfigError, "max_entry_bytes must be positive when set")) {
            try HandleStore(maxEntryBytes: -1)
        }
    }

    @Test func memoryStaysBoundedUnderChurn() throws {
        // 20k stores against a 100-entry cap: lazily deleted heap entries are compacted.
        let store = try makeStore(maxEntries: 100, maxTotalBytes: 5000)
        for i in 0..<20_000 { _ = try store.store(capabilityID: "c", data: .int(i)) }
        #expect(store.count == 100)
        #expect(store.currentBytes == (19_900..<20_000).reduce(0) { $0 + SizeEstimate.decimalLength($1) })
        #expect(try store.get("h-19999").1 == 19_999)
        #expect(store.heapSizes.created <= 2 * 100 + 64 && store.heapSizes.expiry <= 2 * 100 + 64)
    }

    @Test func concurrentStoresAndGetsAreSafe() async throws {
        let store = try HandleStore(maxEntries: 500)
        await withTaskGroup(of: Int.self) { group in
            for t in 0..<8 {
                group.addTask {
                    var ok = 0
                    for i in 0..<300 {
                        if let h = try? store.store(capabilityID: "c", data: .int(t * 1000 + i)),
                           let (_, d) = try? store.get(h.handleID), d == .int(t * 1000 + i) { ok += 1 }
                    }
                    return ok
                }
            }
            var total = 0
            for await n in group { total += n }
            // A handle can be evicted by another task's store before our get, but at most
            // 500 live entries exist and every successful get saw its own data.
            #expect(total > 0)
        }
        #expect(store.count <= 500)
    }
}

extension HandleStoreTests {
    /// The store's eviction against a model of the reference's rules (an insertion-ordered
    /// dict: a sweep of expired handles every 128th store; over the entry cap, expired ones
    /// first, then the oldest by created_at in insertion order), under random TTLs (mostly one
    /// TTL, the case where capacity evictions also retire expiry elements early), a clock that
    /// moves, look-ups that expire handles lazily, and the caps 1, 3 and 50.
    @Test func evictionMatchesTheReferenceModel() throws {
        var rng = SystemRandomNumberGenerator()
        for cap in [1, 3, 50] {
            let clock = HandleTestClock()
            let store = try makeStore(clock, maxEntries: cap)
            var model: [(id: String, created: Int64, expires: Int64)] = []
            var stores = 0
            for step in 0..<4_000 {
                let now = clock.now().microseconds
                if Int.random(in: 0..<5, using: &rng) == 0, let probe = model.randomElement(using: &rng) {
                    // get(): an expired handle is dropped on access.
                    let expired = probe.expires <= now
                    if expired {
                        #expect(throws: KernelError.self) { _ = try store.get(probe.id) }
                    } else {
                        #expect(throws: Never.self) { _ = try store.get(probe.id) }
                    }
                    if expired { model.removeAll { $0.id == probe.id } }
                } else {
                    let ttl: Double = Int.random(in: 0..<8, using: &rng) == 0 ? Double.random(in: 0.5...5, using: &rng) : 3
                    let h = try store.store(capabilityID: "c", data: .int(step), ttlSeconds: ttl)
                    model.append((h.handleID, now, h.expiresAt.microseconds))
                    stores += 1
                    if stores % 128 == 0 { model.removeAll { $0.expires <= now } }
                    if model.count > cap {
                        model.removeAll { $0.expires <= now }
                        while model.count > cap {
                            // min created_at, first inserted on ties (a stable sort)
                            let i = model.indices.min { model[$0].created < model[$1].created || (model[$0].created == model[$1].created && $0 < $1) }!
                            model.remove(at: i)
                        }
                    }
                }
                if Int.random(in: 0..<3, using: &rng) == 0 { clock.advance(seconds: Double.random(in: 0...0.4, using: &rng)) }
                #expect(store.count == model.count, "cap \(cap), step \(step)")
                if step % 50 == 0 {
                    for m in model { #expect(store.meta(m.id) != nil) }
                }
            }
            let heaps = store.heapSizes
            #expect(heaps.created <= 2 * cap + 64 && heaps.expiry <= 2 * cap + 64)
        }
    }
}

extension HandleStoreTests {
    /// `Handle` keeps its fields in one shared box: copies must still behave as values
    /// (a setter on a copy never shows through another copy, the stored handle included),
    /// and equality and hashing follow the fields, not the box.
    @Test func handleCopiesAreValues() throws {
        let store = try makeStore()
        let stored = try store.store(capabilityID: "c", data: 1, principalID: "alice", constraints: ["max_rows": 2])
        var copy = stored
        #expect(copy == stored && copy.hashValue == stored.hashValue)
        copy.principalID = "mallory"
        copy.constraints["max_rows"] = 100
        copy.totalRows = 9
        #expect(stored.principalID == "alice" && stored.constraints["max_rows"] == 2 && stored.totalRows == 1)
        #expect(store.meta(stored.handleID)?.principalID == "alice")
        #expect(copy != stored)
        let rebuilt = Handle(handleID: stored.handleID, capabilityID: "c", createdAt: stored.createdAt,
                             expiresAt: stored.expiresAt, totalRows: 1, principalID: "alice", constraints: ["max_rows": 2])
        #expect(rebuilt == stored && rebuilt.hashValue == stored.hashValue)
        var unique = rebuilt
        unique.handleID = "other"
        #expect(unique.handleID == "other" && rebuilt.handleID == stored.handleID)
    }
}

extension HandleStoreTests {
    /// `Handle`'s box is immutable (a setter builds a new one): every setter must still change
    /// exactly its own field, on a unique handle as on a shared one, and never the stored
    /// handle or another copy.
    @Test func everyHandleSetterChangesOnlyItsField() throws {
        let store = try makeStore()
        let stored = try store.store(capabilityID: "c", data: [1, 2], principalID: "alice", constraints: ["max_rows": 2])
        let later = stored.expiresAt.adding(seconds: 5)
        var h = stored
        h.handleID = "h2"
        h.capabilityID = "c2"
        h.createdAt = later
        h.expiresAt = later
        h.totalRows = 7
        h.principalID = "bob"
        h.constraints["scope"] = ["k": "v"]
        #expect(h.handleID == "h2" && h.capabilityID == "c2" && h.createdAt == later && h.expiresAt == later)
        #expect(h.totalRows == 7 && h.principalID == "bob" && h.constraints == ["max_rows": 2, "scope": ["k": "v"]])
        #expect(stored.capabilityID == "c" && stored.totalRows == 2 && stored.principalID == "alice"
                && stored.constraints == ["max_rows": 2])
        #expect(store.meta(stored.handleID) == stored)
        let copy = h
        h.totalRows = 8
        #expect(copy.totalRows == 7 && h.totalRows == 8 && copy.principalID == h.principalID)
    }
}

extension HandleStoreTests {
    /// A repeated id (an injected generator) replaces the entry in the one insert probe:
    /// its bytes are counted once, the new data is served, and the stale heap elements of
    /// the replaced entry never evict the replacement.
    @Test func repeatedIDReplacesTheEntryAndItsBytes() throws {
        final class SameID: IDGenerator { func next() -> String { "dup" } }
        let store = try HandleStore(maxEntries: 2, maxTotalBytes: 1000, clock: HandleTestClock(), ids: SameID())
        _ = try store.store(capabilityID: "c", data: .string(String(repeating: "x", count: 38)))
        #expect(store.currentBytes == 40 && store.count == 1)
        _ = try store.store(capabilityID: "c", data: .string(String(repeating: "y", count: 8)))
        #expect(store.currentBytes == 10 && store.count == 1)
        #expect(try store.get("dup").1 == .string(String(repeating: "y", count: 8)))
        _ = try store.store(capabilityID: "c", data: 1)
        _ = try store.store(capabilityID: "c", data: 2)
        let last = try store.get("dup").1
        #expect(store.count == 1 && last == 2)
    }
}
