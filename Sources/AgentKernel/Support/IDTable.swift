/// A hash map from the kernel's own identifiers (action ids, handle ids) to values, for the
/// stores that record and evict on every verb.
///
/// Why not `Dictionary<CodePointKey, _>`: at capacity every record evicts, and the standard
/// dictionary's deletion re-hashes each neighbour it shifts with SipHash over 36-byte ids,
/// while each probe retains the key strings it compares: together a third of an `expand`.
/// Here each slot keeps its key's 64-bit hash, so probes compare hashes before bytes and
/// deletions and growth never hash a string again.
///
/// Keys compare by code points (UTF-8 bytes), as `CodePointKey` does. The hash is seeded
/// per process; only the kernel inserts (its ids are random UUIDs), callers only look up.
struct IDTable<Value> {
    /// Probes scan `hashes` alone (8 per cache line, so a miss, the common case when
    /// recording a fresh id, stays in one dense array); key and value sit side by side in
    /// `slots` and are read only when a hash matches, so a hit (every `explain`, `expand`)
    /// touches one line there instead of two parallel arrays.
    /// `hashes[i]` 0 marks an empty slot; a stored hash always has its top bit set.
    private struct Slot {
        var key: String
        var value: Value?
        static var empty: Slot { Slot(key: "", value: nil) }
    }

    private var hashes: [UInt64]
    private var slots: [Slot]
    private(set) var count = 0

    init() {
        hashes = []
        slots = []
    }

    private var mask: Int { hashes.count - 1 }

    subscript(key: String) -> Value? {
        get {
            guard count > 0 else { return nil }
            let h = IDHash.hash(key)
            guard let i = find(key, h) else { return nil }
            return slots[i].value
        }
        set {
            let h = IDHash.hash(key)
            if let v = newValue {
                if let i = find(key, h) {
                    slots[i].value = v
                } else {
                    insertNew(key, h, v)
                }
            } else if let i = find(key, h) {
                remove(at: i)
            }
        }
    }

    /// A part of `key`'s value, read in place (a whole `Value` copied out retains each of
    /// its references).
    func value<R>(forKey key: String, _ project: (Value) -> R) -> R? {
        guard count > 0, let i = find(key, IDHash.hash(key)) else { return nil }
        return slots[i].value.map(project)
    }

    /// When `key` is present, mutates its value in place with `update` and returns the
    /// result; otherwise stores `make()` and returns nil. One probe either way (recording
    /// must check for an existing id, and the id is almost always new).
    mutating func upsert<R>(_ key: String, insert make: () -> Value, update: (inout Value) -> R) -> R? {
        let h = IDHash.hash(key)
        // Grown first, so the empty slot the probe ends on is where the new key goes.
        if (count + 1) * 2 > hashes.count { grow() }
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let s = hashes[i]
            if s == 0 { break }
            if s == h && PyString.equal(slots[i].key, key) { return update(&slots[i].value!) }
            i = (i + 1) & mask
        }
        hashes[i] = h
        slots[i] = Slot(key: key, value: make())
        count += 1
        return nil
    }

    /// Removes `key`; returns its value.
    @discardableResult
    mutating func removeValue(forKey key: String) -> Value? {
        guard count > 0, let i = find(key, IDHash.hash(key)) else { return nil }
        let v = slots[i].value
        remove(at: i)
        return v
    }

    /// Removes `key` without handing its value back (no copy to retain and release).
    @discardableResult
    mutating func remove(_ key: String) -> Bool {
        guard count > 0, let i = find(key, IDHash.hash(key)) else { return false }
        remove(at: i)
        return true
    }

    /// Every value, in no particular order.
    var allValues: [Value] {
        var out: [Value] = []
        out.reserveCapacity(count)
        for i in hashes.indices where hashes[i] != 0 { out.append(slots[i].value!) }
        return out
    }

    private func find(_ key: String, _ h: UInt64) -> Int? {
        guard !hashes.isEmpty else { return nil }
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let s = hashes[i]
            if s == 0 { return nil }
            if s == h && PyString.equal(slots[i].key, key) { return i }
            i = (i + 1) & mask
        }
    }

    private mutating func insertNew(_ key: String, _ h: UInt64, _ v: Value) {
        // Load factor at most 1/2: short probe runs for lookups that miss.
        if (count + 1) * 2 > hashes.count { grow() }
        var i = Int(truncatingIfNeeded: h) & mask
        while hashes[i] != 0 { i = (i + 1) & mask }
        hashes[i] = h
        slots[i] = Slot(key: key, value: v)
        count += 1
    }

    /// Backward-shift deletion (linear probing without tombstones): later members of the
    /// probe run move into the hole when their home slot allows it.
    private mutating func remove(at index: Int) {
        var hole = index
        var k = index
        while true {
            k = (k + 1) & mask
            let s = hashes[k]
            if s == 0 { break }
            let home = Int(truncatingIfNeeded: s) & mask
            // Movable iff the hole lies on the way from its home slot to k.
            if (k &- home) & mask >= (k &- hole) & mask {
                hashes[hole] = s
                slots.swapAt(hole, k)
                hole = k
            }
        }
        hashes[hole] = 0
        slots[hole] = .empty
        count -= 1
    }

    private mutating func grow() {
        let capacity = Swift.max(16, hashes.count * 2)
        let oldHashes = hashes
        var oldSlots = [Slot](repeating: .empty, count: capacity)
        swap(&oldSlots, &slots)
        hashes = [UInt64](repeating: 0, count: capacity)
        let m = capacity - 1
        for j in oldHashes.indices where oldHashes[j] != 0 {
            var i = Int(truncatingIfNeeded: oldHashes[j]) & m
            while hashes[i] != 0 { i = (i + 1) & m }
            hashes[i] = oldHashes[j]
            swap(&slots[i], &oldSlots[j])
        }
    }
}

/// The seeded hash of `IDTable` (a generic type cannot hold the static seed).
enum IDHash {
    /// Per-process seed, so the slots an id lands in cannot be computed from outside.
    private static let seed: UInt64 = UInt64.random(in: .min ... .max)

    /// A 64-bit mix of the key's UTF-8 bytes (8 at a time), top bit set.
    static func hash(_ key: String) -> UInt64 {
        let h: UInt64? = key.utf8.withContiguousStorageIfAvailable { hashBytes(UnsafeRawBufferPointer($0)) }
        return h ?? Array(key.utf8).withUnsafeBytes(hashBytes)
    }

    private static func hashBytes(_ b: UnsafeRawBufferPointer) -> UInt64 {
        var h = seed ^ (UInt64(b.count) &* 0x9E37_79B9_7F4A_7C15)
        var i = 0
        while i + 8 <= b.count {
            h = (h ^ b.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < b.count {
            tail |= UInt64(b[i]) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* 0x94D0_49BB_1331_11EB
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return h | (1 << 63)
    }
}
