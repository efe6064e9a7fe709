import Testing
@testable import AgentKernel

/// Rows of a table reuse the previous row's key verdicts when their keys are the same
/// (`Redaction.KeyMemo.layout`). Parity with the per-key path: redacting a whole table
/// must give the bytes and warnings of redacting each row on its own (a one-row array
/// never uses the memo), whatever the mix of shared, equal, reordered, canonically
/// equivalent (but code-point different) and alternating layouts.
@Suite struct RedactionLayoutTests {
    /// Keys: plain, sensitive in two casings, and "é" next to "e" + U+0301 (equal as Swift
    /// Strings, different keys for the reference).
    static let pool = ["id", "Email", "email", "name", "\u{E9}", "e\u{301}", "password", "note", "amount"]

    /// Deterministic rows: some share one key array, some have equal keys in separate
    /// arrays, some reorder or drop keys; values include PII strings and nested objects.
    static func rows(seed: UInt64, count: Int) -> [JSONValue] {
        var state = seed
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        let sharedKeys = ["id", "email", "\u{E9}", "note"]
        var out: [JSONValue] = []
        for r in 0..<count {
            let keys: [String]
            switch next(4) {
            case 0: keys = sharedKeys
            case 1: keys = sharedKeys.map { String($0.unicodeScalars.map(Character.init)) }  // equal, own array
            case 2: keys = ["id", "e\u{301}", "note", "Email"]
            default: keys = (0..<(1 + next(5))).map { _ in pool[next(pool.count)] }.reduce(into: [String]()) { acc, k in
                if !acc.contains(where: { PyString.equal($0, k) }) { acc.append(k) }
            }
            }
            let values: [JSONValue] = keys.indices.map { i in
                switch next(5) {
                case 0: return .int(r * 10 + i)
                case 1: return .string("call +1-555-555-0100 now")
                case 2: return .string("plain text \(r)")
                case 3: return ["email": "x@example.com", "k": [1, 2]]
                default: return [["password": "p"], ["password": "q"]]
                }
            }
            out.append(.object(JSONObject(uniqueKeys: keys, values: values)))
        }
        return out
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func wholeTableEqualsRowByRow(seed: UInt64) {
        let rows = Self.rows(seed: seed, count: 40)
        for allowed in [nil, ["id", "email", "\u{E9}", "note"], ["e\u{301}", "Email"]] as [[String]?] {
            for depth in [1, 2, 3, 4] {
                let (table, warnings) = Redaction.redact(.array(rows), allowedFields: allowed, maxDepth: depth)
                var expected: [JSONValue] = []
                var expectedWarnings: [String] = []
                for row in rows {
                    let (one, w) = Redaction.redact(.array([row]), allowedFields: allowed, maxDepth: depth)
                    expected.append(contentsOf: one.arrayValue ?? [one])
                    expectedWarnings += w
                }
                let tableBytes = table.serializedBytes()
                let expectedBytes = JSONValue.array(expected).serializedBytes()
                #expect(tableBytes == expectedBytes, "seed \(seed) allowed \(String(describing: allowed)) depth \(depth)")
                #expect(warnings == expectedWarnings)
            }
        }
    }

    /// The same key array shared by every row (as expand's projection builds them) hits
    /// the layout memo on every row after the first.
    @Test func sharedKeyArrayRows() {
        let keys = ["id", "email", "note"]
        let rows: [JSONValue] = (0..<5).map {
            .object(JSONObject(uniqueKeys: keys, values: [.int($0), .string("a\($0)@example.com"), "ok"]))
        }
        let (out, warnings) = Redaction.redact(.array(rows), allowedFields: ["id", "note"])
        #expect(out.serialized() == #"[{"id":0,"note":"ok"},{"id":1,"note":"ok"},{"id":2,"note":"ok"},{"id":3,"note":"ok"},{"id":4,"note":"ok"}]"#)
        #expect(warnings == Array(repeating: "Field 'email' omitted (not in allowed_fields).", count: 5))
    }
}
