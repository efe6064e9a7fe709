import Testing
@testable import AgentKernel

/// Server-side expand semantics (docs/reference-semantics.md §3.7 trust gap, §9.3 step order).
@Suite struct HandleExpandTests {
    let rows: JSONValue = [["id": 1, "region": "eu"], ["id": 2, "region": "us"], ["id": 3, "region": "eu"]]

    @Test func storedGrantDrivesEveryCheck() throws {
        let store = try HandleStore(clock: HandleTestClock(), ids: HandleTestIDs())
        let h = try store.store(capabilityID: "cap", data: rows, principalID: "alice",
                                constraints: ["scope": ["region": "eu"], "allowed_fields": ["id"], "max_rows": 5])
        // Only the id travels; nothing the caller could forge about the handle is used.
        let f = try store.expand(handleID: h.handleID, query: [:], actionID: "a1", principalID: "alice", maxDepth: 3)
        #expect(f.tablePreview == [["id": 1], ["id": 3]])
        #expect(f.handle == h)
        #expect(throws: KernelError(.handleConstraintViolation,
                                    "Handle 'h-0' was granted to principal 'alice' and cannot be expanded by 'mallory'.",
                                    reasonCode: ReasonCode.handlePrincipalMismatch)) {
            try store.expand(handleID: h.handleID, query: [:], actionID: "a2", principalID: "mallory", maxDepth: 3)
        }
    }

    @Test func unknownHandleIsNotFound() throws {
        let store = try HandleStore(clock: HandleTestClock(), ids: HandleTestIDs())
        #expect(throws: KernelError(.handleNotFound, "Handle 'zz' not found. It may have been evicted.")) {
            try store.expand(handleID: "zz", query: [:], actionID: "a", principalID: "", maxDepth: 3)
        }
    }

    @Test func grantChecksRunBeforeTheExpiryCheckAndPagingAfter() throws {
        let clock = HandleTestClock(0)
        let store = try HandleStore(clock: clock, ids: HandleTestIDs())
        let h = try store.store(capabilityID: "cap", data: rows, ttlSeconds: 1, principalID: "alice",
                                constraints: ["max_rows": 1])
        clock.advance(seconds: 1)
        // Step 1 (principal) precedes step 4 (fetch -> expired).
        #expect(throws: KernelError(.handleConstraintViolation,
                                    "Handle 'h-0' was granted to principal 'alice' and cannot be expanded by '<unspecified>'.",
                                    reasonCode: ReasonCode.handlePrincipalMismatch)) {
            try store.expand(handleID: h.handleID, query: ["offset": "bad"], actionID: "a", principalID: "", maxDepth: 3)
        }
        // Step 4 (expired) precedes step 6 (bad offset) and step 7 (limit over the cap).
        #expect(throws: KernelError(.handleExpired, "Handle 'h-0' expired at 1970-01-01T00:00:01+00:00.")) {
            try store.expand(handleID: h.handleID, query: ["offset": "bad", "limit": 9], actionID: "a",
                             principalID: "alice", maxDepth: 3)
        }
        #expect(store.count == 0)
    }

    @Test func provenanceNamesTheCallerAndTime() throws {
        let clock = HandleTestClock()
        let store = try HandleStore(clock: clock, ids: HandleTestIDs())
        let h = try store.store(capabilityID: "cap", data: rows)
        let at = Timestamp(microseconds: clock.now().microseconds + 5)
        let f = try store.expand(handleID: h.handleID, query: ["limit": 1], actionID: "a7", responseMode: .table,
                                 principalID: "bob", maxDepth: 3, now: at)
        #expect(f.provenance == Provenance(capabilityID: "cap", principalID: "bob", invokedAt: at, actionID: "a7"))
        #expect(f.isFinal == false && f.tablePreview.count == 1)
    }
    /// Projected rows share one key array while their kept keys agree; rows whose kept keys
    /// differ (order, count, or code points: "é" vs "e" + U+0301, equal as Swift Strings)
    /// keep their own, and non-object rows pass through.
    @Test func projectionKeepsEachRowsOwnKeys() throws {
        let store = try HandleStore(clock: HandleTestClock(), ids: HandleTestIDs())
        let data: JSONValue = [["a": 1, "b": 2, "z": 0], ["a": 3, "b": 4], ["b": 5, "a": 6], ["a": 7], 8,
                               ["z": 9], ["\u{E9}": 10, "a": 11], ["e\u{301}": 12, "a": 13], ["a": 14, "b": 15]]
        let h = try store.store(capabilityID: "cap", data: data)
        let f = try store.expand(handleID: h.handleID, query: ["fields": ["a", "b", "\u{E9}", "e\u{301}"]],
                                 actionID: "a", principalID: "", maxDepth: 3)
        let keys = f.tablePreview.map { $0.keys.map { Array($0.unicodeScalars) } }
        let expected: [[String]] = [["a", "b"], ["a", "b"], ["b", "a"], ["a"], ["value"], [], ["\u{E9}", "a"],
                                    ["e\u{301}", "a"], ["a", "b"]]
        #expect(keys == expected.map { $0.map { Array($0.unicodeScalars) } })
        #expect(f.tablePreview.map { $0.values } == [[1, 2], [3, 4], [5, 6], [7], [8], [], [10, 11], [12, 13], [14, 15]])
    }
}

/// The projection reuses the previous row's kept positions when a row has the same keys
/// (by code points): parity with projecting each row alone.
@Suite struct HandleExpandProjectionMemoTests {
    @Test func pageEqualsRowByRow() throws {
        let wide = (0..<70).map { "k\($0)" }
        let shared = ["a", "b", "\u{E9}", "c"]
        var data: [JSONValue] = []
        for i in 0..<30 {
            switch i % 6 {
            case 0, 1: data.append(.object(JSONObject(uniqueKeys: shared, values: [.int(i), .int(i + 1), .int(i + 2), .int(i + 3)])))
            case 2: data.append(.object(JSONObject(uniqueKeys: ["a", "b", "e\u{301}", "c"], values: [1, 2, 3, 4])))
            case 3: data.append(.object(JSONObject(uniqueKeys: wide, values: wide.indices.map { .int($0) })))
            case 4: data.append(.object(JSONObject(uniqueKeys: wide, values: wide.indices.map { .int(-$0) })))
            default: data.append(.object(JSONObject(uniqueKeys: ["c", "a"], values: [.int(i), "x"])))
            }
        }
        for fields in [["a", "\u{E9}"], ["c", "k1", "k65", "e\u{301}"], ["zz"], ["k69", "k0", "b"]] {
            let store = try HandleStore(clock: HandleTestClock(), ids: HandleTestIDs())
            let h = try store.store(capabilityID: "cap", data: .array(data))
            let page = try store.expand(handleID: h.handleID, query: ["fields": .array(fields.map(JSONValue.string))],
                                        actionID: "a", principalID: "", maxDepth: 3)
            for (i, row) in data.enumerated() {
                let one = try HandleStore(clock: HandleTestClock(), ids: HandleTestIDs())
                let oh = try one.store(capabilityID: "cap", data: .array([row]))
                let alone = try one.expand(handleID: oh.handleID, query: ["fields": .array(fields.map(JSONValue.string))],
                                           actionID: "a", principalID: "", maxDepth: 3)
                #expect(JSONValue.object(page.tablePreview[i]).serializedBytes() == JSONValue.object(alone.tablePreview[0]).serializedBytes(),
                        "row \(i) fields \(fields)")
            }
        }
    }
}
