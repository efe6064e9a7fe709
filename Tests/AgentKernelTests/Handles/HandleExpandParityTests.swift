import Testing
@testable import AgentKernel

/// Replays `HandleFixtures` (recorded from the reference's HandleStore.expand): same
/// table, warnings, error kind, message and reason code, step order included.
@Suite struct HandleExpandParityTests {
    static let fixtures: JSONObject = {
        guard case .object(let o) = try! JSONParser.parse(HandleFixtures.json) else { fatalError("fixture") }
        return o
    }()
    static let cases: [JSONObject] = fixtures["cases"]!.arrayValue!.map { $0.objectValue! }

    @Test(arguments: cases.indices)
    func expandMatchesReference(_ i: Int) throws {
        let c = Self.cases[i]
        let data = Self.fixtures["datasets"]![c["dataset"]!.stringValue!]!
        let clock = HandleTestClock()
        let store = try HandleStore(clock: clock, ids: HandleTestIDs())
        let h = try store.store(capabilityID: "cap.rows", data: data, principalID: c["principal"]!.stringValue!,
                                constraints: c["constraints"]!.objectValue!)
        let expected = c["result"]!.objectValue!
        let caller = c["caller"]!.stringValue!
        do {
            let f = try store.expand(handleID: h.handleID, query: c["query"]!.objectValue!, actionID: "act-9",
                                     principalID: caller, maxDepth: 3)
            #expect(expected["error"] == nil, "reference raised: \(expected["message"]?.stringValue ?? "")")
            #expect(JSONValue.array(f.tablePreview.map(JSONValue.object)) == expected["table"])
            #expect(f.warnings == expected["warnings"]!.arrayValue!.map { $0.stringValue! })
            #expect(f.responseMode == .table && f.handle == h && f.actionID == "act-9")
            #expect(f.provenance?.principalID == caller)
            #expect(f.provenance?.invokedAt == clock.now())
        } catch {
            let kind = expected["error"]?.stringValue
            #expect(error.kind.rawValue == kind || (error.kind == .valueError && kind != nil && kind != "HandleConstraintViolation"))
            let message = expected["message"]!.stringValue!.replacingOccurrences(of: "{HID}", with: h.handleID)
            #expect(error.message == message)
            #expect(error.reasonCode == expected["reason_code"]?.stringValue)
        }
    }
}

private extension String {
    func replacingOccurrences(of a: String, with b: String) -> String {
        split(separator: a, omittingEmptySubsequences: false).joined(separator: b)
    }
}
