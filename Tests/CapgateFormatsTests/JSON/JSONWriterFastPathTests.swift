import Testing
@testable import CapgateFormats

/// The writer's run-copying fast paths (issue 16) against a one-scalar-at-a-time model of
/// Python's escaping, on strings that mix every class of byte the escaper distinguishes.
@Suite struct JSONWriterFastPathTests {
    /// `json.dumps` escaping, scalar by scalar: the rules of docs/json.md, written the slow way.
    static func model(_ s: String, ascii: Bool) -> [UInt8] {
        var out: [UInt8] = [0x22]
        func unit(_ u: UInt32) { out += Array("\\u".utf8) + Array(String(format4(u)).utf8) }
        for sc in s.unicodeScalars {
            let v = sc.value
            switch v {
            case 0x22: out += Array("\\\"".utf8)
            case 0x5C: out += Array("\\\\".utf8)
            case 0x0A: out += Array("\\n".utf8)
            case 0x0D: out += Array("\\r".utf8)
            case 0x09: out += Array("\\t".utf8)
            case 0x08: out += Array("\\b".utf8)
            case 0x0C: out += Array("\\f".utf8)
            case 0..<0x20: unit(v)
            case 0x20..<0x7F: out.append(UInt8(v))
            default:
                if !ascii { out += Array(String(sc).utf8) } else if v >= 0x10000 {
                    unit(0xD800 + ((v - 0x10000) >> 10))
                    unit(0xDC00 + ((v - 0x10000) & 0x3FF))
                } else {
                    unit(v)
                }
            }
        }
        out.append(0x22)
        return out
    }

    static func format4(_ u: UInt32) -> String {
        let h = String(u, radix: 16)
        return String(repeating: "0", count: 4 - h.count) + h
    }

    static let pieces = ["plain", "\"", "\\", "\n", "\r", "\t", "\u{08}", "\u{0C}", "\u{01}", "\u{1F}", "\u{7F}",
                         "é", "ü", "€", "日本", "😀", "\u{10FFFF}", "/", " ", "", "a'b", String(repeating: "x", count: 40)]

    @Test func matchesTheScalarModelOnMixedStrings() {
        var rng = SystemRandomNumberGenerator()
        var strings = Self.pieces
        for _ in 0..<2000 {
            strings.append((0..<Int.random(in: 0...8, using: &rng)).map { _ in Self.pieces.randomElement(using: &rng)! }
                .joined())
        }
        for s in strings {
            for ascii in [false, true] {
                var out: [UInt8] = [0x41]  // existing content is kept
                JSONWriter.writeString(s, ascii: ascii, into: &out)
                #expect(out == [0x41] + Self.model(s, ascii: ascii), "\(Array(s.unicodeScalars)) ascii=\(ascii)")
            }
        }
    }

    @Test func bridgedAndSubstringBackedStringsTakeTheSamePath() {
        let base = "k\u{7F}ey\n😀é"
        let sub = String(("xx" + base).dropFirst(2))
        var a: [UInt8] = []
        var b: [UInt8] = []
        JSONWriter.writeString(base, ascii: true, into: &a)
        JSONWriter.writeString(sub, ascii: true, into: &b)
        #expect(a == b)
        #expect(a == Self.model(base, ascii: true))
    }

    @Test(arguments: [0, 7, 9, 10, 42, -1, -9, -10, 1234567890, Int.max, Int.min, Int.min + 1, -1000000])
    func integersAreDecimal(_ i: Int) {
        #expect(JSONValue.int(i).serialized() == String(i))
        #expect(JSONValue.array([.int(i), .int(i)]).serialized(.pythonDefault) == "[\(i), \(i)]")
    }
}

/// The ASCII dialect's eight-byte skip (`plainASCII8`) against the byte rule, for every
/// byte value at every position of a word and of a string around a word boundary.
@Suite struct JSONWriterWordSkipTests {
    static func plain(_ c: UInt8) -> Bool { c >= 0x20 && c < 0x7F && c != 0x22 && c != 0x5C }

    @Test func eachByteValueAtEachPosition() {
        for fill in [UInt8(ascii: "a"), 0x20, 0x7E, 0x21, 0x23, 0x5B, 0x5D] {
            for pos in 0..<8 {
                for c in 0...255 {
                    var bytes = [UInt8](repeating: fill, count: 8)
                    bytes[pos] = UInt8(c)
                    let w = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
                    #expect(JSONWriter.plainASCII8(w) == Self.plain(UInt8(c)), "byte \(c) at \(pos)")
                }
            }
        }
    }

    /// `isPlainASCII` (words, then the tail) against the byte rule, every byte value at
    /// every position of buffers around word boundaries.
    @Test func isPlainASCIIMatchesTheByteRule() {
        for len in 0..<19 {
            for pos in 0..<max(len, 1) {
                for c in 0...255 {
                    var bytes = [UInt8](repeating: UInt8(ascii: "k"), count: len)
                    if len > 0 { bytes[pos] = UInt8(c) }
                    let expected = bytes.allSatisfy(Self.plain)
                    #expect(bytes.withUnsafeBufferPointer(JSONWriter.isPlainASCII) == expected, "\(len) \(pos) \(c)")
                }
            }
        }
    }

    @Test func stringsAroundWordBoundariesMatchTheModel() {
        let specials = ["\"", "\\", "\u{7F}", "\u{1F}", "\u{0}", "é", "😀", "\n", " ", "~"]
        for len in 0..<20 {
            for pos in 0..<max(len, 1) {
                for sp in specials {
                    var chars = Array(repeating: "k", count: len)
                    if len > 0 { chars[pos] = sp }
                    let s = chars.joined()
                    var out: [UInt8] = []
                    JSONWriter.writeString(s, ascii: true, into: &out)
                    #expect(out == JSONWriterFastPathTests.model(s, ascii: true), "\(len) \(pos) \(sp)")
                }
            }
        }
    }

    /// The borrowing walk (members written in their container's loop, payloads used in
    /// place) on nested containers whose members share one long string, in all three styles.
    @Test func nestedContainersSharingAStringInEveryStyle() {
        let long = String(repeating: "é", count: 20)  // not a small string: lives in shared storage
        let row: JSONValue = .object(JSONObject(uniqueKeys: ["z", "a"], values: [.string(long), .int(-7)]))
        let v: JSONValue = .array([row, .array([.string(long), .null, .bool(true), .double(1.5)]), row, .object([:])])
        let e = String(repeating: "\\u00e9", count: 20)
        #expect(v.serialized(.compact) == "[{\"z\":\"\(long)\",\"a\":-7},[\"\(long)\",null,true,1.5],{\"z\":\"\(long)\",\"a\":-7},{}]")
        #expect(v.serialized(.canonical) == "[{\"a\":-7,\"z\":\"\(e)\"},[\"\(e)\",null,true,1.5],{\"a\":-7,\"z\":\"\(e)\"},{}]")
        #expect(v.serialized(.pythonDefault)
            == "[{\"z\": \"\(e)\", \"a\": -7}, [\"\(e)\", null, true, 1.5], {\"z\": \"\(e)\", \"a\": -7}, {}]")
        #expect(v.serializedBytes(.canonical) == Array(v.serialized(.canonical).utf8))
    }
}
