import Testing
@testable import AgentKernel

/// The result summaries shared by every trace with the usual counts are the objects built
/// afresh for those counts (same keys, values and bytes), and counts outside the shared
/// ranges are built afresh.
@Suite struct SharedResultSummariesTests {
    @Test func sharedSummariesEqualFreshOnes() {
        for warnings in 0...3 {
            for hasHandle in [false, true] {
                for facts in 0...22 {
                    for rows in [0, 1, 2, 20, 63, 64, 65, 200] {
                        let fresh = Kernel.makeResultSummary(facts: facts, rows: rows, warnings: warnings, hasHandle: hasHandle)
                        let shared = SharedResultSummaries.index(facts: facts, rows: rows, warnings: warnings,
                                                                 hasHandle: hasHandle).map(SharedResultSummaries.summary(at:))
                        let used = shared ?? fresh
                        #expect(used == fresh && used.keys == fresh.keys)
                        #expect(JSONValue.object(used).serialized() == JSONValue.object(fresh).serialized())
                        let inRange = warnings <= 1 && ((rows == 0 && facts <= 20) || (facts == 0 && rows <= 64))
                        #expect((shared != nil) == inRange, "\(facts) \(rows) \(warnings) \(hasHandle)")
                        if let shared { #expect(shared.values == fresh.values) }
                    }
                }
            }
        }
    }

    /// A frame's summary (its counts read in place, `Frame.summaryCounts`) is the one its
    /// public getters give.
    /// Calls `body` with a table frame for every combination of these counts, with 0 to 2
    /// warnings, with and without a handle.
    static func forEachFrame(facts: [Int], rows: [Int],
                             _ body: (_ facts: Int, _ rows: Int, _ warnings: Int, _ hasHandle: Bool, Frame) -> Void) {
        let handle = Handle(handleID: "h", capabilityID: "c", createdAt: Timestamp(microseconds: 0),
                            expiresAt: Timestamp(microseconds: 1), totalRows: 3, principalID: "", constraints: [:])
        for f in facts {
            for r in rows {
                for warnings in [0, 1, 2] {
                    for h in [nil, handle] {
                        body(f, r, warnings, h != nil,
                             Frame(actionID: "a", capabilityID: "c", responseMode: .table,
                                   facts: (0..<f).map { "f\($0)" }, tablePreview: (0..<r).map { ["id": .int($0)] },
                                   handle: h, warnings: (0..<warnings).map { "w\($0)" }))
                    }
                }
            }
        }
    }

    @Test func frameCountsAreTheGetters() {
        Self.forEachFrame(facts: [0, 1, 3], rows: [0, 2, 70]) { facts, rows, warnings, hasHandle, frame in
            let c = frame.summaryCounts
            #expect(c.facts == frame.facts.count && c.rows == frame.tablePreview.count
                        && c.warnings == frame.warnings.count && c.hasHandle == (frame.handle != nil))
            #expect(Kernel.traceSummary(frame).object
                        == Kernel.makeResultSummary(facts: facts, rows: rows, warnings: warnings, hasHandle: hasHandle))
        }
    }

    /// A trace files a shared summary by its index (`Kernel.traceSummary`): it reads back as
    /// the object built afresh, and the trace equals, hashes and serializes as one built
    /// with that object through the public initialiser.
    @Test func tracesKeepSharedSummariesByIndex() {
        var byIndex = 0
        Self.forEachFrame(facts: [0, 1, 20, 21], rows: [0, 1, 64, 65]) { facts, rows, warnings, hasHandle, frame in
            let summary = Kernel.traceSummary(frame)
            let fresh = Kernel.makeResultSummary(facts: facts, rows: rows, warnings: warnings, hasHandle: hasHandle)
            if case .shared = summary { byIndex += 1 }
            #expect(summary.object == fresh)
            let filed = ActionTrace(actionID: "a", capabilityID: "c", principalID: "p", tokenID: "",
                                    invokedAt: Timestamp(microseconds: 5), args: ["k": 1],
                                    responseMode: .table, driverID: "", handleID: "h", summary: summary,
                                    eventType: .expand)
            let plain = ActionTrace(actionID: "a", capabilityID: "c", principalID: "p", tokenID: "",
                                    invokedAt: Timestamp(microseconds: 5), args: ["k": 1],
                                    responseMode: .table, driverID: "", handleID: "h",
                                    resultSummary: fresh, eventType: .expand)
            #expect(filed.resultSummary == fresh && filed.resultSummary?.keys == fresh.keys)
            #expect(filed == plain && filed.hashValue == plain.hashValue)
            #expect(filed.json.serialized() == plain.json.serialized())
        }
        #expect(byIndex == 20)  // 5 count pairs in the shared ranges x 2 warning counts x handle or not
        let none = ActionTrace(actionID: "a", capabilityID: "c", principalID: "p", tokenID: "",
                               invokedAt: Timestamp(microseconds: 5), args: [:], responseMode: .table, driverID: "")
        #expect(none.resultSummary == nil)
    }
}
