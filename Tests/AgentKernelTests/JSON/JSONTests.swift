import Testing
@testable import AgentKernel
@testable import CapgateFormats

struct JSONWriterTests {
    @Test func canonicalMatchesPythonSortKeys() {
        // json.dumps({'b':[1,2.5,'é'],'a':'\x7f/"\\\n😀'}, sort_keys=True, separators=(',',':'))
        let v: JSONValue = ["b": [1, 2.5, "é"], "a": "\u{7F}/\"\\\n😀"]
        #expect(v.serialized(.canonical) == #"{"a":"\u007f/\"\\\n\ud83d\ude00","b":[1,2.5,"\u00e9"]}"#)
    }

    @Test func canonicalSortsByCodePoint() {
        let v: JSONValue = ["é": 1, "z": 2, "Z": 3, "😀": 4, "\u{FFFD}": 5]
        #expect(v.serialized(.canonical) == #"{"Z":3,"z":2,"\u00e9":1,"\ufffd":5,"\ud83d\ude00":4}"#)
    }

    @Test func compactKeepsOrderAndUTF8() {
        let v: JSONValue = ["z": 1, "a": ["é", 1.0, .null, false]]
        #expect(v.serialized() == #"{"z":1,"a":["é",1.0,null,false]}"#)
    }

    @Test func pythonDefaultSeparators() {
        // json.dumps({'a': [1, 'é'], 'b': None})
        let v: JSONValue = ["a": [1, "é"], "b": nil]
        #expect(v.serialized(.pythonDefault) == #"{"a": [1, "\u00e9"], "b": null}"#)
    }
}

struct JSONParserTests {
    @Test func roundTripsOrderAndNumberKinds() throws {
        let text = #"{"b":1,"a":[1.0,-0,2e3,"x\u00e9\ud83d\ude00"],"c":{"d":null,"e":true}}"#
        let v = try JSONParser.parse(text)
        #expect(v["b"] == .int(1))
        #expect(v["a"]?.arrayValue?[0] == .double(1.0))
        #expect(v["a"]?.arrayValue?[1] == .int(0))
        #expect(v["a"]?.arrayValue?[2] == .double(2000))
        #expect(v["a"]?.arrayValue?[3] == .string("xé😀"))
        #expect(v.objectValue?.keys == ["b", "a", "c"])
        #expect(v.serialized() == #"{"b":1,"a":[1.0,0,2000.0,"xé😀"],"c":{"d":null,"e":true}}"#)
    }

    @Test(arguments: [
        (#"{"a":1,"a":2}"#, JSONParseError.Code.duplicateKey),
        ("[1,]", .unexpectedCharacter),
        ("01", .trailingData),
        ("1.", .invalidNumber),
        ("NaN", .unexpectedCharacter),
        (#""\ud800""#, .loneSurrogate),
        ("\"a\u{01}\"", .controlCharacterInString),
        ("99999999999999999999", .numberOutOfRange),
        ("[", .unexpectedEnd),
        ("{} x", .trailingData),
        (#"{"a" 1}"#, .expectedColon),
        (#""\x""#, .invalidEscape),
    ])
    func rejects(text: String, code: JSONParseError.Code) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
        do { _ = try JSONParser.parse(text) } catch { #expect(error.code == code) }
    }

    @Test func rejectsInvalidUTF8() {
        let bytes: [UInt8] = [0x22, 0xC3, 0x28, 0x22]
        do {
            _ = try JSONParser.parse(bytes)
            Issue.record("accepted invalid UTF-8")
        } catch { #expect(error.code == .invalidUTF8) }
    }

    @Test func enforcesDepthAndMemberLimits() {
        let deep = String(repeating: "[", count: 10) + String(repeating: "]", count: 10)
        var limits = JSONParser.Limits()
        limits.maxDepth = 5
        do { _ = try JSONParser.parse(deep, limits: limits); Issue.record("too deep accepted") } catch {
            #expect(error.code == .tooDeep)
        }
        limits = JSONParser.Limits()
        limits.maxMembers = 2
        do { _ = try JSONParser.parse("[1,2,3]", limits: limits); Issue.record("too many accepted") } catch {
            #expect(error.code == .tooManyMembers)
        }
        limits = JSONParser.Limits()
        limits.maxStringBytes = 3
        do { _ = try JSONParser.parse(#""abcd""#, limits: limits); Issue.record("long string accepted") } catch {
            #expect(error.code == .stringTooLong)
        }
    }

    @Test func pyEqualsFollowsPython() {
        #expect(JSONValue.int(1).pyEquals(.double(1.0)))
        #expect(JSONValue.bool(true).pyEquals(.int(1)))
        #expect(!JSONValue.string("1").pyEquals(.int(1)))
        #expect(JSONValue.object(["a": 1, "b": 2]).pyEquals(.object(["b": 2, "a": 1.0])))
        #expect(JSONValue.int(1) != JSONValue.double(1.0))
    }
}

struct TimestampTests {
    @Test func isoformatLikePython() {
        // datetime(2026,1,2,3,4,5,tzinfo=timezone.utc).isoformat()
        let t = Timestamp(isoformat: "2026-01-02T03:04:05+00:00")!
        #expect(t.isoformat == "2026-01-02T03:04:05+00:00")
        let u = Timestamp(isoformat: "2026-11-27T07:08:24.039984+00:00")!
        #expect(u.isoformat == "2026-11-27T07:08:24.039984+00:00")
        #expect(Timestamp(isoformat: "2026-11-27T07:08:24.5Z")!.isoformat == "2026-11-27T07:08:24.500000+00:00")
        #expect(Timestamp(isoformat: "2026-11-27T09:08:24+02:00") == Timestamp(isoformat: "2026-11-27T07:08:24+00:00"))
        #expect(Timestamp(microseconds: -1).isoformat == "1969-12-31T23:59:59.999999+00:00")
        #expect(Timestamp(isoformat: "2026-02-30T00:00:00") == nil)
        #expect(Timestamp(isoformat: "garbage") == nil)
    }

    @Test func uuidsAreVersion4() {
        let id = RandomUUIDGenerator().next()
        let chars = Array(id)
        #expect(chars.count == 36)
        #expect(chars[14] == "4")
        #expect("89ab".contains(chars[19]))
        #expect(id == id.lowercased())
        #expect(RandomUUIDGenerator().next() != id)
    }
}

struct TimestampOffsetTests {
    @Test func offsetsRenderAsWrittenAndCompareByInstant() {
        // datetime.fromisoformat("2026-01-02T08:34:05+05:30").isoformat() keeps the offset,
        // and the canonical token payload signs that text.
        let t = Timestamp(isoformat: "2026-01-02T08:34:05+05:30")!
        #expect(t.isoformat == "2026-01-02T08:34:05+05:30")
        #expect(t == Timestamp(isoformat: "2026-01-02T03:04:05+00:00")!)
        #expect(Timestamp(isoformat: "2026-01-02T03:04:05Z")!.isoformat == "2026-01-02T03:04:05+00:00")
        #expect(Timestamp(isoformat: "2026-01-02T03:04:05-01:30")!.isoformat == "2026-01-02T03:04:05-01:30")
        // A naive value renders without an offset, as Python's isoformat() does.
        #expect(Timestamp(isoformat: "2026-01-02T03:04:05")!.isoformat == "2026-01-02T03:04:05")
        #expect(t.adding(seconds: 60).isoformat == "2026-01-02T08:35:05+05:30")
    }
}
