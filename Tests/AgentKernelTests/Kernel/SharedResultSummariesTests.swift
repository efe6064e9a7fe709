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
                        let used = Kernel.resultSummary(facts: facts, rows: rows, warnings: warnings, hasHandle: hasHandle)
                        #expect(used == fresh && used.keys == fresh.keys)
                        #expect(JSONValue.object(used).serialized() == JSONValue.object(fresh).serialized())
                        let shared = SharedResultSummaries.lookup(facts: facts, rows: rows, warnings: warnings,
                                                                  hasHandle: hasHandle)
                        let inRange = warnings <= 1 && ((rows == 0 && facts <= 20) || (facts == 0 && rows <= 64))
                        #expect((shared != nil) == inRange, "\(facts) \(rows) \(warnings) \(hasHandle)")
                        if let shared { #expect(shared.values == fresh.values) }
                    }
                }
            }
        }
    }
}
