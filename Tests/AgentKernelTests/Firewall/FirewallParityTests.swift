import Testing
@testable import AgentKernel

/// Replays `FirewallFixtures` (outputs recorded from the Python reference) through the
/// Swift port and compares field by field, messages included. JSON `==` is strict:
/// key order and int-vs-float must match too.
@Suite struct FirewallParityTests {
    static let fixtures: JSONObject = {
        guard case .object(let o) = try! JSONParser.parse(FirewallFixtures.json) else { fatalError("fixture") }
        return o
    }()

    static func cases(_ name: String) -> [JSONObject] {
        fixtures[name]!.arrayValue!.map { $0.objectValue! }
    }

    static func strings(_ v: JSONValue?) -> [String] { v?.arrayValue?.map { $0.stringValue! } ?? [] }

    @Test(arguments: cases("redact").indices)
    func redactMatchesReference(_ i: Int) {
        let c = Self.cases("redact")[i]
        let allowed = c["allowed"]!.isNull ? nil : Self.strings(c["allowed"])
        let (out, warnings) = Redaction.redact(c["data"]!, allowedFields: allowed, maxDepth: c["max_depth"]!.intValue!)
        #expect(out == c["out"]!)
        #expect(warnings == Self.strings(c["warnings"]))
    }

    @Test(arguments: cases("summarize").indices)
    func summarizeMatchesReference(_ i: Int) {
        let c = Self.cases("summarize")[i]
        for (key, maxFacts) in [("facts", 20), ("facts3", 3)] {
            let expected = c[key]!
            do {
                let facts = try Summarizer.summarizeChecked(c["data"]!, maxFacts: maxFacts)
                #expect(JSONValue.array(facts.map(JSONValue.string)) == expected, "\(key) of case \(i)")
            } catch {
                #expect(error.kind == .valueError)
                #expect(error.message == expected["message"]?.stringValue, "\(key) of case \(i)")
            }
        }
    }

    @Test(arguments: cases("size").indices)
    func sizeAndTokensMatchReference(_ i: Int) {
        let c = Self.cases("size")[i]
        let data = c["data"]!
        #expect(SizeEstimate.estimatedSize(data) == c["size"]!.intValue!)
        #expect(SizeEstimate.estimatedSize(data, limit: 3) == c["limited"]!.intValue!)
        #expect(SizeEstimate.defaultTokenCount(data) == c["tokens"]!.intValue!)
    }

    @Test(arguments: cases("transform").indices)
    func transformMatchesReference(_ i: Int) {
        let c = Self.cases("transform")[i]
        let b = c["budgets"]!.arrayValue!.map { $0.intValue! }
        let firewall = Firewall(budgets: Budgets(maxRows: b[0], maxFields: b[1], maxChars: b[2], maxDepth: b[3]))
        let expected = c["result"]!.objectValue!
        let now = Timestamp(microseconds: 1_700_000_000_000_000)
        do {
            let frame = try firewall.transform(
                RawResult(capabilityID: "cap.x", data: c["data"]!), actionID: "act-1", principalID: "p1",
                principalRoles: Self.strings(c["roles"]), responseMode: ResponseMode(c["mode"]!.stringValue!),
                constraints: c["constraints"]!.objectValue!, handle: nil, now: now)
            #expect(expected["error"] == nil, "reference raised \(expected["message"]?.stringValue ?? "")")
            #expect(frame.responseMode.rawValue == expected["mode"]?.stringValue)
            #expect(frame.facts == Self.strings(expected["facts"]))
            #expect(JSONValue.array(frame.tablePreview.map(JSONValue.object)) == expected["table"])
            #expect(frame.warnings == Self.strings(expected["warnings"]))
            #expect(frame.rawData == expected["raw"])
            #expect(frame.actionID == "act-1" && frame.capabilityID == "cap.x")
            #expect(frame.provenance == Provenance(capabilityID: "cap.x", principalID: "p1", invokedAt: now, actionID: "act-1"))
            #expect(frame.isFinal == false)
        } catch {
            #expect(error.kind == .valueError)
            #expect(error.message == expected["message"]?.stringValue)
        }
    }

    @Test func summaryCharBudgetStopsAtFirstOverflowingFact() {
        // _cap_facts counts code points: "éé" is 2, not 4 bytes.
        #expect(Firewall.capFacts(["éé", "abc", "d"], maxChars: 5) == ["éé", "abc"])
        #expect(Firewall.capFacts(["éé", "abcd", "d"], maxChars: 5) == ["éé"])
        #expect(Firewall.capFacts(["toolong"], maxChars: 3) == [])
    }

    @Test func handleIsPassedThroughInEveryMode() throws {
        let h = Handle(handleID: "h1", capabilityID: "cap.x", createdAt: Timestamp(microseconds: 0),
                       expiresAt: Timestamp(microseconds: 1), totalRows: 1)
        for mode in [ResponseMode.summary, .table, .handleOnly, .raw] {
            let f = try Firewall().transform(RawResult(capabilityID: "cap.x", data: ["a": 1]), actionID: "a",
                                             principalID: "p", principalRoles: ["admin"], responseMode: mode,
                                             constraints: [:], handle: h, now: Timestamp(microseconds: 5))
            #expect(f.handle == h)
        }
    }
}
