import Testing
import CapgateFormats

@Suite struct JSONObjectTests {
    /// `init(uniqueKeys:values:)` is the same object as appending the pairs one by one: same
    /// order, same look-ups, same bytes, and equal to the literal form.
    @Test func uniqueKeysBuildsTheSameObject() {
        let o = JSONObject(uniqueKeys: ["b", "a", "é"], values: [1, "x", .null])
        var appended = JSONObject()
        appended.appendUnchecked("b", 1)
        appended.appendUnchecked("a", "x")
        appended.appendUnchecked("é", .null)
        #expect(o == appended)
        #expect(o == ["b": 1, "a": "x", "é": .null])
        #expect(o["a"] == "x" && o["e\u{301}"] == nil)
        #expect(JSONValue.object(o).serialized() == JSONValue.object(appended).serialized())
        #expect(o.keys == ["b", "a", "é"])
    }

    /// The literals size their arrays only for several members: an empty literal keeps the
    /// shared empty arrays (no allocation, as before), and a repeated key keeps its first
    /// position and its last value either way.
    @Test func literalsKeepDictSemanticsAndEmptyStorage() {
        func base<T>(_ a: [T]) -> UnsafeRawPointer? { a.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) } }
        let empty: JSONObject = [:]
        #expect(base(empty.keys) == base(JSONObject().keys) && base(empty.values) == base(JSONObject().values))
        guard case .object(let emptyValue) = [:] as JSONValue else { Issue.record("not an object"); return }
        #expect(base(emptyValue.keys) == base(JSONObject().keys))
        let repeated: JSONObject = ["a": 1, "b": 2, "a": 3]
        #expect(repeated.keys == ["a", "b"] && repeated.values == [3, 2])
        guard case .object(let repeatedValue) = ["a": 1, "b": 2, "a": 3] as JSONValue else { return }
        #expect(repeatedValue == repeated)
    }
}
