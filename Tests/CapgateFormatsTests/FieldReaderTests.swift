import CapgateFormats
import Testing

/// The shared field reader: the message texts here are the ones the wire, the config and
/// the model decoders promise (their own tests pin them end to end).
struct FieldReaderTests {
    typealias Reader = FieldReader<FieldError>

    @Test func requiredMembersNameTheirPath() throws {
        var r = try Reader(["a": "x", "n": nil, "i": 3], "req")
        #expect(try r.string("a") == "x")
        #expect(try r.int("i") == 3)
        #expect(throws: FieldError("req.b", "is required")) { try r.string("b") }
        #expect(throws: FieldError("req.n", "must be a string")) { try r.string("n") }
        #expect(throws: FieldError("req.a", "must be an integer")) { try r.int("a") }
    }

    @Test func optionalMembersTreatNullAsAbsent() throws {
        var r = try Reader(["s": nil, "b": 1, "o": "x"], "")
        #expect(try r.optionalString("s") == nil)
        #expect(try r.optionalString("missing") == nil)
        #expect(throws: FieldError("b", "must be a boolean")) { try r.optionalBool("b") }
        #expect(throws: FieldError("o", "must be an object")) { try r.optionalObject("o") }
        #expect(throws: FieldError("o", "must be an object or null")) { try r.nullableObject("o") }
        #expect(throws: FieldError("b", "must be a string or null")) { try r.nullableString("b") }
        #expect(throws: FieldError("o", "must be a number")) { try r.optionalNumber("o") }
        #expect(try r.optionalNumber("b") == 1.0)
    }

    @Test func finishRejectsTheFirstUnconsumedMember() throws {
        var r = try Reader(["a": 1, "typo": 2, "later": 3], "")
        _ = try r.optionalInt("a")
        #expect(throws: FieldError("typo", "unknown field")) { try r.finish() }
        _ = r.take("typo")
        _ = r.take("later")
        try r.finish()
    }

    @Test func tomlVocabulary() throws {
        #expect(throws: FieldError("t", "must be a table")) { try Reader(.int(1), "t", vocabulary: .toml) }
        var r = try Reader(["flag": "yes", "ids": 1, "m": ["k": 1], "x": 0], "", vocabulary: .toml)
        #expect(throws: FieldError("flag", "must be true or false")) { try r.optionalBool("flag") }
        #expect(throws: FieldError("ids", "must be an array of tables ([[ids]])")) { try r.nestedList("ids") }
        #expect(throws: FieldError("m.k", "must be a string")) { try r.stringMap("m") }
        #expect(throws: FieldError("x", "unknown key")) { try r.finish() }
    }

    @Test func nestedReadersCarryTheirPath() throws {
        var r = try Reader(["list": [["a": 1], 2], "inner": ["z": true]], "top")
        #expect(throws: FieldError("top.list[1]", "must be an object")) { try r.nestedList("list") }
        var inner = try r.nested("inner")
        #expect(throws: FieldError("top.inner.z", "must be an integer")) { try inner.int("z") }
        var absent = try r.optionalNested("none")
        #expect(try absent.optionalString("q") == nil)
        try absent.finish()
    }
}
