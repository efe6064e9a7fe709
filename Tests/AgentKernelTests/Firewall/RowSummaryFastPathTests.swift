import Testing
@testable import AgentKernel

/// The object-table fast paths of `RowSummary.summarize` (top keys read off the first row
/// when the first rows share its keys; one hinted pass per key for the facts) against the
/// general walk (`countedTopKeys` + `generalFacts`, the reference's operations row by
/// row), on generated tables: shared, equal, reordered and partial key lists, "é" next to
/// "e" + U+0301, and values that switch between numbers, bools, strings and null.
@Suite struct RowSummaryFastPathTests {
    static func slowSummary(_ rows: [JSONValue], maxFacts: Int) throws -> [String] {
        var facts = ["Total rows: \(rows.count)"]
        facts.append("Top keys: " + (try RowSummary.countedTopKeys(rows)).joined(separator: ", "))
        let topKeys = try RowSummary.countedTopKeys(rows)
        try RowSummary.generalFacts(rows, topKeys: topKeys, facts: &facts)
        return Summarizer.truncate(facts, maxFacts: maxFacts)
    }

    static func table(seed: UInt64, count: Int) -> [JSONValue] {
        var state = seed
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        let pool = ["id", "amount", "status", "\u{E9}", "e\u{301}", "flag", "k6", "k7", "k8", "k9", "k10", "k11", "note"]
        let shared = Array(pool.prefix(4 + next(9)))
        let mode = next(4)  // 0: all shared; 1: mostly shared; 2: reordered; 3: random subsets
        return (0..<count).map { r in
            var keys: [String]
            switch mode {
            case 0: keys = shared
            case 1: keys = next(6) == 0 ? Array(shared.dropLast()) : shared
            case 2: keys = next(3) == 0 ? shared.reversed() : shared
            default: keys = pool.filter { _ in next(2) == 0 }
            }
            let values: [JSONValue] = keys.map { k in
                let kind = k == "amount" ? (next(8) == 0 ? 4 : next(2)) : next(6)
                switch kind {
                case 0: return .int(next(1000) - 500)
                case 1: return .double(Double(next(100_000)) / 7)
                case 2: return .bool(next(2) == 0)
                case 3: return .string(["paid", "open", "void", "p\u{E9}"][next(4)])
                case 4: return .string("x\(r)")
                default: return .null
                }
            }
            return .object(JSONObject(uniqueKeys: keys, values: values))
        }
    }

    /// The top-keys fact written in place is the concatenation it replaces, for no key, one
    /// key, empty, long and non-ASCII keys.
    @Test func topKeysFactEqualsTheConcatenation() {
        let cases: [[String]] = [[], ["id"], [""], ["id", "title"], ["", ""], ["\u{E9}", "e\u{301}", "\u{1F600}"],
                                 [String(repeating: "long_key_", count: 9), "x"], (0..<10).map { "k\($0)" }]
        for keys in cases {
            #expect(Array(RowSummary.topKeysFact(keys).utf8) == Array(("Top keys: " + keys.joined(separator: ", ")).utf8))
        }
    }

    @Test(arguments: 0..<60)
    func fastPathEqualsGeneralWalk(seed: Int) throws {
        for count in [1, 2, 9, 10, 11, 40] {
            let rows = Self.table(seed: UInt64(seed), count: count)
            for maxFacts in [3, 20] {
                let fast = try RowSummary.summarize(rows, maxFacts: maxFacts)
                let slow = try Self.slowSummary(rows, maxFacts: maxFacts)
                #expect(fast.map { Array($0.unicodeScalars) } == slow.map { Array($0.unicodeScalars) },
                        "seed \(seed) rows \(count) maxFacts \(maxFacts)")
            }
        }
    }
}
