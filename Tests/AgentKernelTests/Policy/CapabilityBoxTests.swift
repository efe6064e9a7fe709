import Testing
@testable import AgentKernel

/// `Capability` keeps its fields in a shared immutable box: it must still behave as a value
/// (a setter changes this copy only) and compare and hash by its fields.
@Suite struct CapabilityBoxTests {
    static let base = Capability(capabilityID: "billing.list", name: "List", description: "d", safetyClass: .read,
                                 sensitivity: .pii, allowedFields: ["id"], tags: ["t"],
                                 impl: ImplementationRef(driverID: "drv", operation: "op"),
                                 parametersSchema: ["type": "object"], toolHints: ToolHints(strict: true))

    @Test func settersChangeOnlyTheirCopy() {
        let a = Self.base
        var b = a
        b.capabilityID = "x"
        b.name = "n"
        b.description = "dd"
        b.safetyClass = .write
        b.sensitivity = .none
        b.allowedFields.append("amount")
        b.tags = []
        b.impl = nil
        b.parametersSchema?["type"] = "array"
        b.toolHints?.strict = false
        #expect(a == Self.base)
        #expect(a.capabilityID == "billing.list" && a.allowedFields == ["id"] && a.impl?.driverID == "drv")
        #expect(b.capabilityID == "x" && b.name == "n" && b.description == "dd" && b.safetyClass == .write)
        #expect(b.sensitivity == .none && b.allowedFields == ["id", "amount"] && b.tags.isEmpty && b.impl == nil)
        #expect(b.parametersSchema == ["type": "array"] && b.toolHints?.strict == false)
    }

    @Test func equalityAndHashAreByFields() {
        let same = Capability(capabilityID: "billing.list", name: "List", description: "d", safetyClass: .read,
                              sensitivity: .pii, allowedFields: ["id"], tags: ["t"],
                              impl: ImplementationRef(driverID: "drv", operation: "op"),
                              parametersSchema: ["type": "object"], toolHints: ToolHints(strict: true))
        #expect(same == Self.base && same.hashValue == Self.base.hashValue)
        var other = Self.base
        other.tags = ["u"]
        #expect(other != Self.base)
        other = Self.base
        other.toolHints = nil
        #expect(other != Self.base)
    }
}
