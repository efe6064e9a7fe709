import CapgateFormats
import Foundation

/// Target 1: the strict JSON reader, differential against Foundation's
/// `JSONSerialization`. Both must reject, or both accept with equal values, except for
/// the documented deliberate differences (docs/json.md): duplicate keys, integers outside
/// 64 bits, lone surrogate escapes and the bounds the reader enforces. Accepted values must
/// also survive a round trip through our writer.
enum FuzzJSON {
    static let limits = JSONParser.Limits(maxDepth: 64, maxStringBytes: 1 << 16, maxMembers: 4096, maxTotalValues: 1 << 16)

    /// Codes our reader may refuse where Foundation accepts (deliberate differences).
    static let deliberate: Set<JSONParseError.Code> = [
        .duplicateKey, .numberOutOfRange, .loneSurrogate, .tooDeep, .stringTooLong, .tooManyMembers, .tooManyValues,
        .invalidUTF8,
    ]

    static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = data.bindMemory(to: UInt8.self)
        let ours: Result<JSONValue, JSONParseError>
        do throws(JSONParseError) { ours = .success(try JSONParser.parse(bytes, limits: limits)) } catch {
            ours = .failure(error)
        }
        let foundation = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        switch (ours, foundation) {
        case (.success(let v), let f?):
            if !equivalent(v, f) { fuzzFailure("values differ: ours \(v.serialized().prefix(200))") }
            roundTrip(v)
        case (.success(let v), nil):
            // Foundation refuses a few texts we accept on purpose? None are documented:
            // every accepted text must be RFC 8259 JSON that Foundation also reads.
            fuzzFailure("we accept what Foundation rejects: \(v.serialized().prefix(200))")
        case (.failure, _?) where foundationReadsAsUTF16or32(bytes):
            // Foundation sniffs UTF-16/32 from a BOM or the NUL pattern of the first four
            // bytes (RFC 4627 §3); we read UTF-8 only (RFC 8259 §8.1: JSON exchanged
            // between systems MUST be UTF-8). Such bytes are never valid UTF-8 JSON.
            break
        case (.failure(let e), _?):
            // Foundation is laxer than RFC 8259 in two ways we keep strict on purpose: a
            // leading byte-order mark and trailing commas. Without them our reader must
            // accept the text too, or refuse it for one of our deliberate reasons (the
            // first error may hide a later one: regression json/trailing_comma_then_big_int.json).
            if deliberate.contains(e.code) { break }
            do throws(JSONParseError) {
                _ = try JSONParser.parse(withoutLeniencies(Array(bytes)), limits: limits)
            } catch {
                if !deliberate.contains(error.code) { fuzzFailure("we reject (\(e), then \(error)) what Foundation accepts") }
            }
        case (.failure, nil):
            break
        }
    }

    /// True when Foundation would decode the bytes as UTF-16 or UTF-32: a UTF-16/32
    /// byte-order mark, or a NUL among the first four bytes. A raw NUL is never legal in
    /// UTF-8 JSON (outside strings it is not a token, inside it is an unescaped control
    /// character), so our reader rejects all of these.
    static func foundationReadsAsUTF16or32(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        if b.starts(with: [0xFE, 0xFF]) || b.starts(with: [0xFF, 0xFE]) { return true }
        return b.prefix(4).contains(0)
    }

    /// Drops a leading UTF-8 BOM and every comma that is followed (after whitespace) by
    /// `]` or `}` outside strings: the two extensions Foundation's reader accepts.
    static func withoutLeniencies(_ b: [UInt8]) -> [UInt8] {
        var input = b[...]
        if input.starts(with: [0xEF, 0xBB, 0xBF]) { input = input.dropFirst(3) }
        var out: [UInt8] = []
        var inString = false
        var escaped = false
        var pendingComma: [UInt8]? = nil  // a comma and the whitespace after it
        for c in input {
            if inString {
                out.append(c)
                if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else if c == UInt8(ascii: "\"") { inString = false }
                continue
            }
            if var p = pendingComma {
                if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { p.append(c); pendingComma = p; continue }
                if c == UInt8(ascii: "]") || c == UInt8(ascii: "}") { out.append(contentsOf: p.dropFirst()) } else { out.append(contentsOf: p) }
                pendingComma = nil
            }
            if c == UInt8(ascii: ",") { pendingComma = [c]; continue }
            if c == UInt8(ascii: "\"") { inString = true }
            out.append(c)
        }
        if let p = pendingComma { out.append(contentsOf: p) }
        return out
    }

    static func roundTrip(_ v: JSONValue) {
        let text = v.serializedBytes()
        do throws(JSONParseError) {
            let again = try JSONParser.parse(text, limits: JSONParser.Limits())
            if again != v { fuzzFailure("round trip changed the value") }
        } catch {
            fuzzFailure("our own output does not parse: \(error)")
        }
    }

    /// Foundation drops a raw U+FEFF at the start of a string and right after an escape
    /// (it decodes each run between escapes as if it were a document with a byte-order
    /// mark); we keep it, as Python does. Strings compare with U+FEFF removed on both sides.
    /// Regression json/raw_bom_inside_string_dropped_by_foundation.json.
    static func withoutBOM(_ s: String) -> String {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: s.unicodeScalars.lazy.filter { $0 != "\u{FEFF}" })
        return String(v)
    }

    /// Structural equality with Foundation's objects; numbers compare by value because
    /// `NSNumber` does not keep int and double apart.
    static func equivalent(_ v: JSONValue, _ f: Any) -> Bool {
        switch v {
        case .null: return f is NSNull
        case .bool(let b): return (f as? NSNumber)?.boolValue == b
        case .int(let i):
            if let n = f as? NSNumber { return n.int64Value == Int64(i) || n.doubleValue == Double(i) }
            return false
        case .double(let d):
            // Foundation on Linux reads long literals through `Decimal` (38-digit mantissa,
            // inexact conversion to Double) and lands several ulps off; ours is correctly
            // rounded like Python's float() (regressions json/long_mantissa_*). Allow a
            // relative 1e-12: a real misparse (a digit, the exponent) is far larger.
            if let n = f as? NSNumber { return n.doubleValue == d || abs(n.doubleValue - d) <= 1e-12 * abs(d) }
            return false
        case .string(let s): return (f as? String).map { withoutBOM($0) == withoutBOM(s) } ?? false
        case .array(let a):
            guard let fa = f as? [Any], fa.count == a.count else { return false }
            return zip(a, fa).allSatisfy { equivalent($0, $1) }
        case .object(let o):
            guard let fo = f as? [String: Any] else { return false }
            // Foundation keys compare by canonical equivalence ("é" == "e\u{301}"), ours by
            // code point like Python: keys that collide only for Foundation are a
            // documented difference, not a finding. Keys are matched without U+FEFF (see
            // `withoutBOM`).
            let ourKeys = Set(o.keys.map(withoutBOM))
            var theirs: [String: Any] = [:]
            for (k, y) in fo { theirs[withoutBOM(k)] = y }
            if ourKeys.count != o.count || theirs.count != fo.count { return true }
            guard theirs.count == o.count else { return false }
            for (k, x) in o {
                guard let y = theirs[withoutBOM(k)], equivalent(x, y) else { return false }
            }
            return true
        }
    }
}
