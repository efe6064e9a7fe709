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
}
