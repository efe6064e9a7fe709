import CLibcShims

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
/// per table; only the kernel inserts (its ids are random UUIDs), callers only look up.
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
    /// Per table, so the slots an id lands in cannot be computed from outside.
    private let seed = IDHash.newSeed()
    /// Where a slot keeps its value (for `prefetchEntry`, computed once).
    private let valueOffset = MemoryLayout<Slot>.offset(of: \Slot.value)!

    init() {
        hashes = []
        slots = []
    }

    private var mask: Int { hashes.count - 1 }

    subscript(key: String) -> Value? {
        get {
            guard count > 0 else { return nil }
            let h = IDHash.hash(key, seed: seed)
            guard let i = find(key, h) else { return nil }
            return slots[i].value
        }
        set {
            let h = IDHash.hash(key, seed: seed)
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
        guard count > 0, let i = find(key, IDHash.hash(key, seed: seed)) else { return nil }
        return slots[i].value.map(project)
    }

    /// When `key` is present, mutates its value in place with `update` and returns the
    /// result; otherwise stores `make()` and returns nil. One probe either way (recording
    /// must check for an existing id, and the id is almost always new).
    mutating func upsert<R>(_ key: String, insert make: () -> Value, update: (inout Value) -> R) -> R? {
        upsert(key, hash: hash(key), insert: make, update: update)
    }

    /// `upsert` with `h == hash(key)` computed by the caller (who keeps it).
    mutating func upsert<R>(_ key: String, hash h: UInt64, insert make: () -> Value,
                            update: (inout Value) -> R) -> R? {
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
        fill(i) { Slot(key: key, value: make()) }
        count += 1
        return nil
    }

    /// Stores into the empty slot `i` without reading it: an empty slot holds no references,
    /// so there is nothing to release, and the assignment's load of the old entry was a
    /// cache miss on nearly every insert (a fresh id lands on a random slot).
    private mutating func fill(_ i: Int, _ entry: () -> Slot) {
        slots.withUnsafeMutableBufferPointer { ($0.baseAddress! + i).initialize(to: entry()) }
    }

    /// The hash this table files `key` under: callers that keep it can later find or
    /// remove the entry without the key (`value(hash:where:_:)`, `remove(hash:where:)`).
    func hash(_ key: String) -> UInt64 { IDHash.hash(key, seed: seed) }

    /// The slot of the entry filed under `h` whose value satisfies `matches`. Only hashes
    /// and values are read, never keys: a caller that knows which entry it means (by a
    /// unique field of the value) does not touch the key's bytes.
    private func index(hash h: UInt64, where matches: (borrowing Value) -> Bool) -> Int? {
        guard count > 0 else { return nil }
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let s = hashes[i]
            if s == 0 { return nil }
            if s == h, matches(slots[i].value!) { return i }
            i = (i + 1) & mask
        }
    }

    /// Whether an entry filed under `h` satisfies `matches`, read in place: a value copied
    /// out (as `value(hash:where:_:)` hands one to its projection) retained and released each
    /// of its references, objects long out of the cache when the entry is an eviction's.
    func contains(hash h: UInt64, where matches: (borrowing Value) -> Bool) -> Bool {
        index(hash: h, where: matches) != nil
    }

    /// A part of the value filed under `h` that satisfies `matches`.
    func value<R>(hash h: UInt64, where matches: (borrowing Value) -> Bool, _ project: (Value) -> R) -> R? {
        guard let i = index(hash: h, where: matches) else { return nil }
        return slots[i].value.map(project)
    }

    /// Removes the entry filed under `h` whose value satisfies `matches`; returns a part of
    /// its value read in place (a whole value copied out retained each of its references,
    /// released again a moment later with the entry).
    mutating func remove<R>(hash h: UInt64, where matches: (borrowing Value) -> Bool,
                            reading part: (borrowing Value) -> R) -> R? {
        guard let i = index(hash: h, where: matches) else { return nil }
        let r = part(slots[i].value!)
        remove(at: i)
        return r
    }

    /// Removes the entry filed under `h` whose value satisfies `matches`; false when none.
    @discardableResult
    mutating func remove(hash h: UInt64, where matches: (borrowing Value) -> Bool) -> Bool {
        guard let i = index(hash: h, where: matches) else { return false }
        remove(at: i)
        return true
    }

    /// Starts loading what a look-up of `h` reads first (its home slot's hash and entry)
    /// without waiting for it: for a removal known in advance, so its cache misses overlap
    /// other work instead of stalling it.
    func prefetch(hash h: UInt64) {
        guard !hashes.isEmpty else { return }
        let i = Int(truncatingIfNeeded: h) & mask
        hashes.withUnsafeBufferPointer { capgate_prefetch($0.baseAddress! + i) }
        slots.withUnsafeBufferPointer {
            // Both ends: a slot can straddle two cache lines.
            let slot = UnsafeRawPointer($0.baseAddress! + i)
            capgate_prefetch(slot)
            capgate_prefetch(slot + (MemoryLayout<Slot>.size - 1))
        }
    }

    /// Starts loading the key's bytes of the entry filed under `h` that satisfies `matches`,
    /// then hands the address of its value to `body` (which prefetches what the value refers
    /// to, reading it as raw words: a copy of the value would retain its references, a
    /// blocking access to each, the very misses being avoided). Reads the entry's slot, so
    /// best called once `prefetch(hash:)` has brought it in.
    func prefetchEntry(hash h: UInt64, where matches: (borrowing Value) -> Bool, _ body: (UnsafeRawPointer) -> Void) {
        guard let i = index(hash: h, where: matches) else { return }
        slots.withUnsafeBufferPointer { s in
            capgate_prefetch(IDHash.storageAddress(of: s[i].key))
            body(UnsafeRawPointer(s.baseAddress! + i) + valueOffset)
        }
    }

    /// Removes `key`; returns its value.
    @discardableResult
    mutating func removeValue(forKey key: String) -> Value? {
        guard count > 0, let i = find(key, IDHash.hash(key, seed: seed)) else { return nil }
        let v = slots[i].value
        remove(at: i)
        return v
    }

    /// Removes `key` without handing its value back (no copy to retain and release).
    @discardableResult
    mutating func remove(_ key: String) -> Bool {
        guard count > 0, let i = find(key, IDHash.hash(key, seed: seed)) else { return false }
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
        fill(i) { Slot(key: key, value: v) }
        count += 1
    }

    /// Backward-shift deletion (linear probing without tombstones): later members of the
    /// probe run move into the hole when their home slot allows it.
    ///
    /// Entries move bit for bit through the buffers' pointers: `swapAt` retained and
    /// released each moved key and value, objects nothing else touches (at the stores'
    /// capacity, cache misses on every record). The removed entry is released last, once
    /// the table is consistent again.
    private mutating func remove(at index: Int) {
        var h: [UInt64] = []
        var s: [Slot] = []
        swap(&h, &hashes)  // moved out, so the buffers below are the table's own, unshared
        swap(&s, &slots)
        let m = h.count - 1
        let gone: Slot = h.withUnsafeMutableBufferPointer { h in
            s.withUnsafeMutableBufferPointer { s in
                let base = s.baseAddress!
                let gone = (base + index).move()
                var hole = index
                var k = index
                while true {
                    k = (k + 1) & m
                    let hk = h[k]
                    if hk == 0 { break }
                    let home = Int(truncatingIfNeeded: hk) & m
                    // Movable iff the hole lies on the way from its home slot to k.
                    if (k &- home) & m >= (k &- hole) & m {
                        h[hole] = hk
                        (base + hole).moveInitialize(from: base + k, count: 1)
                        hole = k
                    }
                }
                h[hole] = 0
                (base + hole).initialize(to: .empty)
                return gone
            }
        }
        swap(&h, &hashes)
        swap(&s, &slots)
        count -= 1
        _ = consume gone
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

/// The seeded hash of `IDTable`.
///
/// Why this shape: the hash runs on every `explain` (a third of the call), twice per
/// recorded trace and on every handle look-up, over 36-byte UUIDs. Folding 16 bytes per
/// step through one 64x64->128-bit multiply (the high and low halves xored) keeps the
/// dependency chain to three multiplies for an id, and the last block is loaded whole,
/// overlapping the previous one, instead of a byte loop. Inlined with the seed passed in
/// (not a lazily initialised global, whose one-time check was a call per hash), the
/// string's bytes are read in place without a retain and release around the call.
/// A zero multiplicand would discard the state folded so far, so every block is xored
/// with a secret derived from the seed first: without the seed no input can aim for it.
enum IDHash {
    /// Where a native string keeps its bytes (the second word of its representation with
    /// the flag bits cleared), for a prefetch only: for a small (inline) string the result
    /// is no address at all, which a prefetch ignores; it is never dereferenced.
    @inline(__always)
    static func storageAddress(of s: String) -> UnsafeRawPointer? {
        let words = unsafeBitCast(s, to: (UInt64, UInt64).self)
        return UnsafeRawPointer(bitPattern: UInt(words.1 & 0x0FFF_FFFF_FFFF_FFFF))
    }

    /// A fresh random seed (one per table, drawn when the table is created).
    static func newSeed() -> UInt64 { UInt64.random(in: .min ... .max) }

    /// A 64-bit mix of the key's UTF-8 bytes, top bit set (0 marks an empty slot).
    @inline(__always)
    static func hash(_ key: String, seed: UInt64) -> UInt64 {
        if let h = key.utf8.withContiguousStorageIfAvailable({ hashBytes(UnsafeRawBufferPointer($0), seed: seed) }) {
            return h
        }
        return Array(key.utf8).withUnsafeBytes { hashBytes($0, seed: seed) }
    }

    @inline(__always)
    static func hashBytes(_ b: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let n = b.count
        let secret = seed ^ 0xA076_1D64_78BD_642F
        var h = seed ^ (UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15)
        if n >= 8 {
            var i = 0
            while n - i > 16 {
                h = fold(load64(b, i) ^ secret, load64(b, i + 8) ^ h)
                i += 16
            }
            // The last 16 bytes (all of a key of 8 to 16 bytes), overlapping what the
            // loop already folded.
            h = fold(load64(b, Swift.max(0, n - 16)) ^ secret, load64(b, n - 8) ^ h)
        } else if n >= 4 {
            let a = UInt64(load32(b, 0)) << 32 | UInt64(load32(b, n - 4))
            h = fold(a ^ secret, h)
        } else if n > 0 {
            let a = UInt64(b[0]) << 16 | UInt64(b[n >> 1]) << 8 | UInt64(b[n - 1])
            h = fold(a ^ secret, h)
        }
        h = fold(h ^ 0xE703_7ED1_A0B4_28DB, secret ^ 0x8EBC_6AF0_9C88_C6E3)
        return h | (1 << 63)
    }

    @inline(__always)
    private static func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let p = a.multipliedFullWidth(by: b)
        return p.high ^ p.low
    }

    @inline(__always)
    private static func load64(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt64 {
        UInt64(littleEndian: b.loadUnaligned(fromByteOffset: at, as: UInt64.self))
    }

    @inline(__always)
    private static func load32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(littleEndian: b.loadUnaligned(fromByteOffset: at, as: UInt32.self))
    }
}
