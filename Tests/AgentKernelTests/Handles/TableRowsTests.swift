import CapgateTesting
import Testing
@testable import AgentKernel

/// `TableRows.build` (expand's one-pass projection and redaction) against the general steps
/// (`HandleQuery.projectAndRedact`): the same rows, member for member and byte for byte,
/// and the same warnings in the same order, on seeded random pages; and nil exactly for
/// the pages it leaves to the general steps.
@Suite struct TableRowsTests {
    /// Keys: plain, sensitive in two casings, "é" next to "e" + U+0301 (equal as Swift
    /// Strings, different keys for the reference), and a sensitive name spelled with the
    /// Kelvin sign (never sensitive: Python's lower() gives "k", not an ASCII match).
    static let pool = ["id", "Email", "email", "name", "\u{E9}", "e\u{301}", "password", "note", "amount", "SSN",
                       "\u{212A}ey", "card_number", "status"]

    static func value(_ g: inout SplitMix64, depth: Int = 0) -> JSONValue {
        switch g.below(depth > 2 ? 7 : 11) {
        case 0: return .int(g.below(1000) - 500)
        case 1: return .double(Double(g.below(10_000)) / 8)
        case 2: return .bool(g.below(2) == 0)
        case 3: return .null
        case 4: return .string("plain \(g.below(100))")
        case 5: return .string("mail bob\(g.below(9))@example.com or call +1-555-555-0100")
        case 6: return .string("card 4111 1111 1111 1111")
        case 7, 8:
            let n = g.below(4)
            return .object(JSONObject((0..<n).map { _ in (pool[g.below(pool.count)], value(&g, depth: depth + 1)) }))
        default:
            return .array((0..<g.below(4)).map { _ in value(&g, depth: depth + 1) })
        }
    }

    /// A row with `keys` (distinct by code points) and random values.
    static func row(_ keys: [String], _ g: inout SplitMix64) -> JSONValue {
        .object(JSONObject(uniqueKeys: keys, values: keys.map { _ in value(&g) }))
    }

    static func randomKeys(_ g: inout SplitMix64) -> [String] {
        var keys: [String] = []
        for _ in 0..<g.below(7) {
            let k = pool[g.below(pool.count)]
            if !keys.contains(where: { PyString.equal($0, k) }) { keys.append(k) }
        }
        return keys
    }

    /// Rows that mostly share a few layouts (one array, or equal keys in their own array),
    /// sometimes a fresh layout, a wide row, or (when `mixed`) a non-object row.
    static func page(_ g: inout SplitMix64, mixed: Bool) -> [JSONValue] {
        let layouts = (0..<1 + g.below(3)).map { _ in randomKeys(&g) }
        let wide = (0..<(60 + g.below(10))).map { "k\($0)" } + ["email"]
        return (0..<g.below(12)).map { _ in
            switch g.below(20) {
            case 0: return row(randomKeys(&g), &g)
            case 1: return row(wide, &g)
            case 2 where mixed: return value(&g)
            case 3: return row(layouts[0].map { String($0.unicodeScalars.map(Character.init)) }, &g)  // equal, own array
            default: return row(layouts[g.below(layouts.count)], &g)
            }
        }
    }

    static func fields(_ g: inout SplitMix64) -> [JSONValue] {
        switch g.below(5) {
        case 0: return []
        case 1: return [.int(1)]  // truthy, never equal to a key: drops every member
        default:
            var f: [JSONValue] = (0..<1 + g.below(5)).map { _ in .string(pool[g.below(pool.count)]) }
            if g.below(4) == 0 { f.append(.null) }
            if g.below(6) == 0 { f += (0..<20).map { .string("k\($0 * 3)") } }  // a long list (searched by set)
            return f
        }
    }

    @Test(arguments: 0..<40)
    func onePassEqualsGeneralSteps(seed: Int) {
        var g = SplitMix64(seed: 0x7AB1_E000 + UInt64(seed))
        var fastPages = 0
        for _ in 0..<60 {
            let rows = Self.page(&g, mixed: g.below(3) == 0)
            let fields = Self.fields(&g)
            let maxDepth = g.below(6)
            let lo = g.below(3) == 0 ? g.below(rows.count + 1) : 0
            let page = rows[lo...]
            var expectedWarnings: [String] = []
            let expected = HandleQuery.projectAndRedact(page, whole: lo == 0 ? rows : nil, fields: fields,
                                                        maxDepth: maxDepth, warnings: &expectedWarnings)
            var warnings = ["earlier"]
            let handles = maxDepth >= 2 && page.allSatisfy { r in
                if case .object(let o) = r { return o.count <= 64 } else { return false }
            }
            guard let table = TableRows.build(page, fields: fields, maxDepth: maxDepth, warnings: &warnings) else {
                #expect(!handles, "one pass declined a page it handles (seed \(seed))")
                #expect(warnings == ["earlier"])
                continue
            }
            #expect(handles, "one pass took a page it must leave to the general steps (seed \(seed))")
            fastPages += 1
            #expect(table == expected, "seed \(seed) fields \(fields) depth \(maxDepth)")
            // Keys by code points (Swift's == on String would equate "é" and "e" + U+0301).
            #expect(table.map { $0.keys.map { Array($0.unicodeScalars) } }
                    == expected.map { $0.keys.map { Array($0.unicodeScalars) } })
            #expect(JSONValue.array(table.map(JSONValue.object)).serializedBytes()
                    == JSONValue.array(expected.map(JSONValue.object)).serializedBytes())
            #expect(warnings == ["earlier"] + expectedWarnings)
        }
        #expect(fastPages > 10)
    }

    /// With a layout memo shared across calls (as one handle store shares it between
    /// expands), every page still equals the general steps: pages and projections vary
    /// call to call, repeat (memo hits) and come back after others (misses), including
    /// fields equal only as non-strings and keys equal as Swift Strings but not by code points.
    @Test(arguments: 0..<20)
    func layoutMemoAcrossCallsEqualsGeneralSteps(seed: Int) {
        var g = SplitMix64(seed: 0x3E30_0000 + UInt64(seed))
        let memo = TableRows.LayoutMemo()
        var pages: [([JSONValue], [JSONValue])] = []
        for _ in 0..<150 {
            let fresh = pages.isEmpty || g.below(3) == 0
            if fresh { pages.append((Self.page(&g, mixed: false), Self.fields(&g))) }
            var (rows, fields) = fresh ? pages[pages.count - 1] : pages[g.below(pages.count)]
            if g.below(5) == 0 { fields = fields.map { $0.stringValue == nil ? .bool(true) : $0 } }  // other non-strings
            let lo = g.below(3) == 0 ? g.below(rows.count + 1) : 0
            let page = rows[lo...]
            let maxDepth = 2 + g.below(3)
            var expectedWarnings: [String] = []
            let expected = HandleQuery.projectAndRedact(page, whole: lo == 0 ? rows : nil, fields: fields,
                                                        maxDepth: maxDepth, warnings: &expectedWarnings)
            var warnings: [String] = []
            let table = TableRows.build(page, fields: fields, maxDepth: maxDepth, warnings: &warnings, memo: memo)
            guard let table else {
                #expect(page.contains { $0.objectValue.map { $0.count > 64 } ?? true })
                continue
            }
            #expect(table == expected, "seed \(seed) fields \(fields)")
            #expect(table.map { $0.keys.map { Array($0.unicodeScalars) } }
                    == expected.map { $0.keys.map { Array($0.unicodeScalars) } })
            #expect(warnings == expectedWarnings)
        }
    }

    /// The memo is used: a second page of rows with the same keys and projection gets the
    /// first one's key array; a different projection of them does not.
    @Test func layoutMemoSharesKeysAcrossCalls() throws {
        let memo = TableRows.LayoutMemo()
        let rows: [JSONValue] = [["id": 1, "title": "a"], ["id": 2, "title": "b"]]
        var w: [String] = []
        let first = try #require(TableRows.build(rows[0..<1], fields: ["title"], maxDepth: 3, warnings: &w, memo: memo))
        let second = try #require(TableRows.build(rows[1..<2], fields: ["title"], maxDepth: 3, warnings: &w, memo: memo))
        #expect(second[0].keys == ["title"] && second[0].values == ["b"])
        #expect(sharesStorage(first[0].keys, second[0].keys))
        let other = try #require(TableRows.build(rows[1..<2], fields: ["id"], maxDepth: 3, warnings: &w, memo: memo))
        #expect(other[0].keys == ["id"] && other[0].values == [2])
        #expect(TableRows.LayoutMemo.sameProjection([.int(1), "a"], [.null, "a"]))
        #expect(!TableRows.LayoutMemo.sameProjection(["\u{E9}"], ["e\u{301}"]))
        #expect(!TableRows.LayoutMemo.sameProjection(["a"], [.int(1)]))
        #expect(!TableRows.LayoutMemo.sameProjection([], ["a"]))
    }

    /// Rows kept whole and unchanged are the stored rows themselves (no copy); masked or
    /// projected rows of one layout share one key array.
    @Test func unchangedRowsAreSharedAndKeysShared() throws {
        let keys = ["id", "email", "note"]
        let rows: [JSONValue] = (0..<3).map { .object(JSONObject(uniqueKeys: keys, values: [.int($0), "a@b.example", "x"])) }
        var warnings: [String] = []
        let masked = try #require(TableRows.build(rows[...], fields: [], maxDepth: 3, warnings: &warnings))
        #expect(masked.map { $0.values } == (0..<3).map { [.int($0), .string("[REDACTED]"), "x"] })
        #expect(warnings == Array(repeating: "Field 'email' redacted (sensitive field name).", count: 3))
        #expect(sharesStorage(masked[0].keys, masked[2].keys))

        let plain: [JSONValue] = [["id": 1, "note": "x"], ["id": 2, "note": "y"]]
        var none: [String] = []
        let kept = try #require(TableRows.build(plain[...], fields: [], maxDepth: 3, warnings: &none))
        #expect(none.isEmpty)
        #expect(sharesStorage(kept[1].values, plain[1].objectValue!.values))
    }
}
