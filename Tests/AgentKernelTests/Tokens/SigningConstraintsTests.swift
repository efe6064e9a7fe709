import Testing
@testable import AgentKernel

/// `SigningConstraints` must write exactly JSONWriter's canonical bytes, whether its array
/// memo hits (the same array again), misses (an equal list in other storage, or another
/// list) or is bypassed (more than 16 keys).
@Suite struct SigningConstraintsTests {
    func canonical(_ c: JSONObject) -> [UInt8] {
        var out: [UInt8] = []
        JSONWriter.write(.object(c), style: .canonical, into: &out)
        return out
    }

    func viaMemo(_ c: JSONObject) -> [UInt8] {
        var out: [UInt8] = []
        SigningConstraints.write(c, into: &out)
        return out
    }

    @Test func matchesCanonicalWriterOnHitsAndMisses() {
        let fields: JSONValue = ["id", "customer_name", "é", "\u{1F600}", "q\"uote"]
        let other: JSONValue = ["b", "a"]
        let objects: [JSONObject] = [
            [:], ["max_rows": 5],
            ["max_rows": 50, "allowed_fields": fields],
            ["allowed_fields": fields, "max_rows": 50, "zeta": [1, 2], "Alpha": ["x": [3, "y"]]],
            ["allowed_fields": other, "max_rows": 1],
            ["allowed_fields": ["id", "customer_name", "é", "\u{1F600}", "q\"uote"], "max_rows": 50],
            ["allowed_fields": fields, "max_rows": 50],
            ["single": ["only"], "e\u{301}": [nil, true, 1.5], "\u{e9}": []],
        ]
        // Twice round: the second pass meets each array with the memo warm or cold in turn.
        for _ in 0..<2 {
            for c in objects { #expect(viaMemo(c) == canonical(c), "\(canonical(c))") }
        }
    }

    @Test func aMutatedCopyIsNotServedFromTheMemo() {
        var list: [JSONValue] = ["a", "b", "c"]
        let first: JSONObject = ["allowed_fields": .array(list)]
        #expect(viaMemo(first) == canonical(first))
        list[1] = "changed"  // copy on write: new storage, so a miss
        let second: JSONObject = ["allowed_fields": .array(list)]
        #expect(viaMemo(second) == canonical(second))
        #expect(viaMemo(first) == canonical(first))
    }

    /// More distinct arrays than the memo holds, in rotation: every write still exact.
    @Test func rotationPastTheMemoSizeStaysExact() {
        let lists: [JSONValue] = (0..<(SigningConstraints.memoEntries + 3)).map { i in
            .array([.string("f\(i)"), .string("g"), .int(i)])
        }
        for _ in 0..<3 {
            for l in lists {
                let c: JSONObject = ["allowed_fields": l, "max_rows": 50]
                #expect(viaMemo(c) == canonical(c))
            }
        }
    }

    @Test func manyKeysGoThroughTheWriter() {
        var c = JSONObject()
        for i in (0..<20).reversed() { c["k\(i)"] = ["x", .int(i)] }
        #expect(viaMemo(c) == canonical(c))
    }
}
