import Testing
@testable import AgentKernel

/// `Frame` keeps all but its action id in one shared box: copies must still behave as values,
/// and equality and hashing follow every field, the action id included.
@Suite struct FrameValueTests {
    static func frame(_ id: String = "a1") -> Frame {
        Frame(actionID: id, capabilityID: "c", responseMode: .table, facts: ["f"], tablePreview: [["k": 1]],
              warnings: ["w"], provenance: Provenance(capabilityID: "c", principalID: "p", invokedAt: Timestamp(microseconds: 0),
                                                      actionID: id))
    }

    @Test func copiesAreValues() {
        let original = Self.frame()
        var copy = original
        #expect(copy == original && copy.hashValue == original.hashValue)
        copy.isFinal = true
        copy.warnings.append("more")
        copy.tablePreview[0]["k"] = 2
        copy.actionID = "a2"
        #expect(!original.isFinal && original.warnings == ["w"] && original.tablePreview == [["k": 1]])
        #expect(original.actionID == "a1" && copy.actionID == "a2" && copy != original)
        #expect(Self.frame() == original && Self.frame().hashValue == original.hashValue)
        #expect(Self.frame("other") != original)
        var unique = Self.frame()
        unique.facts = []
        #expect(unique.facts.isEmpty && unique != original)
    }
}
