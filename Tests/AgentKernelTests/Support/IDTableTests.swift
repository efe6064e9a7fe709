import Testing
@testable import AgentKernel

/// `IDTable` against `Dictionary<CodePointKey, _>` (the map it replaced) under random
/// inserts, overwrites and removals: the backward-shift deletion and growth must never lose
/// or resurrect a key.
@Suite struct IDTableTests {
    @Test func behavesLikeACodePointDictionary() {
        var rng = SystemRandomNumberGenerator()
        var table = IDTable<Int>()
        var model: [CodePointKey: Int] = [:]
        // A small key space forces long probe runs, collisions of home slots and reuse.
        let keys = (0..<300).map { "id-\($0)" } + ["é", "e\u{301}", "", "K", "\u{212A}"]
        for step in 0..<40_000 {
            let k = keys.randomElement(using: &rng)!
            switch Int.random(in: 0..<3, using: &rng) {
            case 0, 1:
                table[k] = step
                model[CodePointKey(k)] = step
            default:
                #expect(table.removeValue(forKey: k) == model.removeValue(forKey: CodePointKey(k)))
            }
            if step % 997 == 0 {
                #expect(table.count == model.count)
                for k in keys { #expect(table[k] == model[CodePointKey(k)]) }
            }
        }
        #expect(Set(table.allValues) == Set(model.values))
        #expect(table.value(forKey: "absent", { $0 }) == nil)
    }

    @Test func canonicallyEquivalentIDsStayDistinct() {
        var t = IDTable<String>()
        t["é"] = "precomposed"
        t["e\u{301}"] = "decomposed"
        #expect(t.count == 2)
        #expect(t["é"] == "precomposed")
        #expect(t["e\u{301}"] == "decomposed")
        t["é"] = nil
        #expect(t["é"] == nil)
        #expect(t["e\u{301}"] == "decomposed")
    }
}

extension IDTableTests {
    /// `upsert` inserts a new key (nil) or updates the existing one in place (its result),
    /// across growth, like a read-then-write on `Dictionary`.
    @Test func upsertInsertsOrUpdatesInOneProbe() {
        var table = IDTable<Int>()
        var model: [CodePointKey: Int] = [:]
        var rng = SystemRandomNumberGenerator()
        let keys = (0..<500).map { "k\($0)" } + ["é", "e\u{301}"]
        for step in 0..<20_000 {
            let k = keys.randomElement(using: &rng)!
            if Int.random(in: 0..<4, using: &rng) == 0 {
                #expect(table.removeValue(forKey: k) == model.removeValue(forKey: CodePointKey(k)))
                continue
            }
            let old = table.upsert(k, insert: { step }) { v -> Int in
                let was = v
                v = step
                return was
            }
            #expect(old == model[CodePointKey(k)])
            model[CodePointKey(k)] = step
        }
        #expect(table.count == model.count)
        for k in keys { #expect(table[k] == model[CodePointKey(k)]) }
    }
}

extension IDTableTests {
    /// The hash reads every byte of every length (blocks of 16, the overlapping last block,
    /// the 4-byte and 1-to-3-byte paths): changing any one byte changes it, and the same
    /// bytes built two ways hash the same. Checked for each length around every boundary.
    @Test func hashReadsEveryByteOfEveryLength() {
        let seed = IDHash.newSeed()
        for n in 0...70 {
            let bytes = (0..<n).map { UInt8(ascii: "a") + UInt8(($0 * 7 + n) % 26) }
            let key = String(decoding: bytes, as: UTF8.self)
            let h = IDHash.hash(key, seed: seed)
            #expect(h >> 63 == 1)
            #expect(IDHash.hash(String(key.unicodeScalars.map(Character.init)), seed: seed) == h)
            for j in 0..<n {
                var changed = bytes
                changed[j] ^= 0x20  // a lowercase letter becomes its uppercase twin
                #expect(IDHash.hash(String(decoding: changed, as: UTF8.self), seed: seed) != h, "length \(n), byte \(j)")
            }
            if n > 0 {
                #expect(IDHash.hash(String(key.dropLast()), seed: seed) != h)
            }
        }
        #expect(IDHash.hash("é", seed: seed) != IDHash.hash("e\u{301}", seed: seed))
    }
}
