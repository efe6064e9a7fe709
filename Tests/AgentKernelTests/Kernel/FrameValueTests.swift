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

extension FrameValueTests {
    /// `Frame`'s box is immutable (a setter builds a new one): every setter must change
    /// exactly its own field, on a unique frame as on a shared one, and never another copy.
    @Test func everySetterChangesOnlyItsField() {
        let original = Self.frame()
        let handle = Handle(handleID: "h", capabilityID: "c", createdAt: Timestamp(microseconds: 1),
                            expiresAt: Timestamp(microseconds: 2))
        let otherProvenance = Provenance(capabilityID: "c2", principalID: "q", invokedAt: Timestamp(microseconds: 5),
                                         actionID: "a9")
        // Each setter with a value unlike the original's, and what it must change.
        let edits: [(String, (inout Frame) -> Void, (Frame) -> Bool)] = [
            ("capabilityID", { $0.capabilityID = "c2" }, { $0.capabilityID == "c2" }),
            ("responseMode", { $0.responseMode = .summary }, { $0.responseMode == .summary }),
            ("facts", { $0.facts = ["g", "h"] }, { $0.facts == ["g", "h"] }),
            ("tablePreview", { $0.tablePreview = [] }, { $0.tablePreview.isEmpty }),
            ("handle", { $0.handle = handle }, { $0.handle == handle }),
            ("warnings", { $0.warnings += ["x"] }, { $0.warnings == ["w", "x"] }),
            ("provenance", { $0.provenance = otherProvenance }, { $0.provenance == otherProvenance }),
            ("rawData", { $0.rawData = [1, 2] }, { $0.rawData == [1, 2] }),
            ("isFinal", { $0.isFinal = true }, { $0.isFinal }),
        ]
        // Every field read back, the one under edit blanked out, to compare the rest.
        func others(_ f: Frame, except name: String) -> [String] {
            let fields: [(String, String)] = [
                ("actionID", f.actionID), ("capabilityID", f.capabilityID), ("responseMode", "\(f.responseMode)"),
                ("facts", "\(f.facts)"), ("tablePreview", "\(f.tablePreview)"), ("handle", "\(String(describing: f.handle))"),
                ("warnings", "\(f.warnings)"), ("provenance", "\(String(describing: f.provenance))"),
                ("rawData", "\(f.rawData)"), ("isFinal", "\(f.isFinal)"),
            ]
            return fields.map { $0.0 == name ? "" : $0.1 }
        }
        for (name, edit, changed) in edits {
            var unique = Self.frame()
            edit(&unique)
            #expect(changed(unique), "\(name) not set on a unique frame")
            #expect(others(unique, except: name) == others(original, except: name), "\(name) changed another field")
            var shared = original
            edit(&shared)
            #expect(changed(shared) && !changed(original), "\(name) showed through a shared copy")
            #expect(others(shared, except: name) == others(original, except: name))
            #expect(original == Self.frame() && shared != original)
        }
    }

    /// Where the kernel gives `isFinal` at construction (its box is never set afterwards):
    /// the firewall's frame carries the flag it was given, and only that.
    @Test func transformGivesTheFinalFlagAtConstruction() throws {
        let raw = RawResult(capabilityID: "c", data: [["id": 1, "email": "a@b.example"]])
        for mode in [ResponseMode.table, .summary, .handleOnly, .raw] {
            for final in [false, true] {
                let f = try Firewall().transform(raw, actionID: "a", principalID: "p", principalRoles: ["admin"],
                                                 responseMode: mode, constraints: [:], handle: nil,
                                                 now: Timestamp(microseconds: 0), isFinal: final)
                let plain = try Firewall().transform(raw, actionID: "a", principalID: "p", principalRoles: ["admin"],
                                                     responseMode: mode, constraints: [:], handle: nil,
                                                     now: Timestamp(microseconds: 0))
                #expect(f.isFinal == final && !plain.isFinal)
                var set = plain
                set.isFinal = final
                #expect(set == f)
            }
        }
    }
}
