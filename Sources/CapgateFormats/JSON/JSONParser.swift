/// A strict JSON reader over UTF-8 bytes (RFC 8259), bounded so hostile input cannot
/// exhaust memory or stack. It is the one parser in the project: the kernel uses it for
/// data files, the wire layer for request bodies, and the fuzzers target it.
///
/// Deliberate choices (documented in docs/json.md):
/// - duplicate object keys are rejected (Python keeps the last one; JSON leaves it open,
///   and a duplicate is a classic smuggling vector);
/// - integers outside the 64-bit range are rejected rather than silently rounded;
/// - `NaN`/`Infinity` literals, comments, trailing commas and lone surrogate escapes are
///   rejected;
/// - invalid UTF-8 anywhere is rejected.
public struct JSONParser {
    /// Bounds applied while parsing. Defaults suit trusted data files.
    public struct Limits: Sendable, Equatable {
        public var maxDepth: Int
        public var maxStringBytes: Int
        public var maxMembers: Int
        public var maxTotalValues: Int
        public init(maxDepth: Int = 512, maxStringBytes: Int = 64 << 20, maxMembers: Int = 1 << 24,
                    maxTotalValues: Int = 1 << 26) {
            self.maxDepth = maxDepth
            self.maxStringBytes = maxStringBytes
            self.maxMembers = maxMembers
            self.maxTotalValues = maxTotalValues
        }
        public static let trustedFile = Limits()
    }

    public static func parse(_ text: String, limits: Limits = .trustedFile) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8), limits: limits)
    }

    public static func parse(_ bytes: [UInt8], limits: Limits = .trustedFile) throws(JSONParseError) -> JSONValue {
        let r: Result<JSONValue, JSONParseError> = bytes.withUnsafeBufferPointer { buf in
            do throws(JSONParseError) { return .success(try parse(buf, limits: limits)) } catch { return .failure(error) }
        }
        return try r.get()
    }

    public static func parse(_ buf: UnsafeBufferPointer<UInt8>, limits: Limits = .trustedFile) throws(JSONParseError) -> JSONValue {
        var p = JSONParser(buf: buf, limits: limits)
        p.skipWS()
        let v = try p.value(depth: 0)
        p.skipWS()
        if p.pos != buf.count { throw p.fail(.trailingData) }
        return v
    }

    let buf: UnsafeBufferPointer<UInt8>
    let limits: Limits
    var pos = 0
    var totalValues = 0

    init(buf: UnsafeBufferPointer<UInt8>, limits: Limits) {
        self.buf = buf
        self.limits = limits
    }

    func fail(_ code: JSONParseError.Code) -> JSONParseError { JSONParseError(code: code, offset: pos) }

    @inline(__always) mutating func skipWS() {
        while pos < buf.count {
            switch buf[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
        guard pos < buf.count else { throw fail(.unexpectedEnd) }
        totalValues += 1
        if totalValues > limits.maxTotalValues { throw fail(.tooManyValues) }
        switch buf[pos] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail(.unexpectedCharacter)
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let n = word.utf8CodeUnitCount
        guard pos + n <= buf.count else { throw fail(.unexpectedEnd) }
        let w = word.utf8Start
        for i in 0..<n where buf[pos + i] != w[i] { throw fail(.unexpectedCharacter) }
        pos += n
    }

    mutating func object(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > limits.maxDepth { throw fail(.tooDeep) }
        pos += 1
        var obj = JSONObject()
        skipWS()
        if pos < buf.count && buf[pos] == UInt8(ascii: "}") { pos += 1; return .object(obj) }
        while true {
            skipWS()
            guard pos < buf.count else { throw fail(.unexpectedEnd) }
            guard buf[pos] == UInt8(ascii: "\"") else { throw fail(.expectedKey) }
            let keyStart = pos
            let key = try string()
            if obj.index(of: key) != nil { throw JSONParseError(code: .duplicateKey, offset: keyStart) }
            skipWS()
            guard pos < buf.count else { throw fail(.unexpectedEnd) }
            guard buf[pos] == UInt8(ascii: ":") else { throw fail(.expectedColon) }
            pos += 1
            skipWS()
            let v = try value(depth: depth)
            if obj.count >= limits.maxMembers { throw fail(.tooManyMembers) }
            obj.appendUnchecked(key, v)
            skipWS()
            guard pos < buf.count else { throw fail(.unexpectedEnd) }
            if buf[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if buf[pos] == UInt8(ascii: "}") { pos += 1; return .object(obj) }
            throw fail(.expectedCommaOrEnd)
        }
    }

    mutating func array(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > limits.maxDepth { throw fail(.tooDeep) }
        pos += 1
        var arr: [JSONValue] = []
        skipWS()
        if pos < buf.count && buf[pos] == UInt8(ascii: "]") { pos += 1; return .array(arr) }
        while true {
            skipWS()
            let v = try value(depth: depth)
            if arr.count >= limits.maxMembers { throw fail(.tooManyMembers) }
            arr.append(v)
            skipWS()
            guard pos < buf.count else { throw fail(.unexpectedEnd) }
            if buf[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if buf[pos] == UInt8(ascii: "]") { pos += 1; return .array(arr) }
            throw fail(.expectedCommaOrEnd)
        }
    }

    mutating func number() throws(JSONParseError) -> JSONValue {
        let start = pos
        var isInt = true
        if buf[pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < buf.count else { throw fail(.unexpectedEnd) }
        if buf[pos] == UInt8(ascii: "0") {
            pos += 1
        } else if isDigit(buf[pos]) {
            while pos < buf.count && isDigit(buf[pos]) { pos += 1 }
        } else {
            throw fail(.invalidNumber)
        }
        if pos < buf.count && buf[pos] == UInt8(ascii: ".") {
            isInt = false
            pos += 1
            guard pos < buf.count, isDigit(buf[pos]) else { throw fail(.invalidNumber) }
            while pos < buf.count && isDigit(buf[pos]) { pos += 1 }
        }
        if pos < buf.count && (buf[pos] == UInt8(ascii: "e") || buf[pos] == UInt8(ascii: "E")) {
            isInt = false
            pos += 1
            if pos < buf.count && (buf[pos] == UInt8(ascii: "+") || buf[pos] == UInt8(ascii: "-")) { pos += 1 }
            guard pos < buf.count, isDigit(buf[pos]) else { throw fail(.invalidNumber) }
            while pos < buf.count && isDigit(buf[pos]) { pos += 1 }
        }
        if pos - start > 400 { throw JSONParseError(code: .numberOutOfRange, offset: start) }
        if isInt {
            var v = 0
            var i = start
            let negative = buf[i] == UInt8(ascii: "-")
            if negative { i += 1 }
            while i < pos {
                let d = Int(buf[i] &- 48)
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (a, o2) = negative ? m.subtractingReportingOverflow(d) : m.addingReportingOverflow(d)
                if o1 || o2 { throw JSONParseError(code: .numberOutOfRange, offset: start) }
                v = a
                i += 1
            }
            return .int(v)
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: buf[start..<pos]), as: UTF8.self)
        guard let d = Double(text), d.isFinite else { throw JSONParseError(code: .numberOutOfRange, offset: start) }
        return .double(d)
    }

    @inline(__always) func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }

    mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard pos + 4 <= buf.count else { throw fail(.unexpectedEnd) }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = buf[pos]
            let d: UInt32
            switch b {
            case 48...57: d = UInt32(b - 48)
            case 65...70: d = UInt32(b - 55)
            case 97...102: d = UInt32(b - 87)
            default: throw fail(.invalidEscape)
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    mutating func string() throws(JSONParseError) -> String {
        pos += 1  // opening quote
        let start = pos
        // Fast path: no escapes, ASCII or valid UTF-8 until the closing quote.
        var high: UInt8 = 0  // OR of the bytes: below 0x80 means pure ASCII
        while pos < buf.count {
            let b = buf[pos]
            if b == UInt8(ascii: "\"") {
                if pos - start > limits.maxStringBytes { throw fail(.stringTooLong) }
                let slice = UnsafeBufferPointer(rebasing: buf[start..<pos])
                pos += 1
                // ASCII is valid UTF-8 as it stands, and `String(decoding:)` is specialized
                // here while the generic `String(validating:)` looked its metadata up at
                // run time on every string (a quarter of a frame's decode).
                if high < 0x80 { return String(decoding: slice, as: UTF8.self) }
                guard let s = String(validating: slice, as: UTF8.self) else {
                    throw JSONParseError(code: .invalidUTF8, offset: start)
                }
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw fail(.controlCharacterInString) }
            high |= b
            pos += 1
        }
        guard pos < buf.count else { throw fail(.unexpectedEnd) }
        // Slow path with escapes.
        var bytes = [UInt8](UnsafeBufferPointer(rebasing: buf[start..<pos]))
        while pos < buf.count {
            if bytes.count > limits.maxStringBytes { throw fail(.stringTooLong) }
            let b = buf[pos]
            if b == UInt8(ascii: "\"") {
                pos += 1
                guard let s = String(validating: bytes, as: UTF8.self) else {
                    throw JSONParseError(code: .invalidUTF8, offset: start)
                }
                return s
            }
            if b < 0x20 { throw fail(.controlCharacterInString) }
            if b != UInt8(ascii: "\\") { bytes.append(b); pos += 1; continue }
            pos += 1
            guard pos < buf.count else { throw fail(.unexpectedEnd) }
            let e = buf[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): bytes.append(0x22)
            case UInt8(ascii: "\\"): bytes.append(0x5C)
            case UInt8(ascii: "/"): bytes.append(0x2F)
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "u"):
                var cp = try hex4()
                if (0xD800...0xDBFF).contains(cp) {
                    guard pos + 2 <= buf.count, buf[pos] == UInt8(ascii: "\\"), buf[pos + 1] == UInt8(ascii: "u") else {
                        throw fail(.loneSurrogate)
                    }
                    pos += 2
                    let lo = try hex4()
                    guard (0xDC00...0xDFFF).contains(lo) else { throw fail(.loneSurrogate) }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(cp) {
                    throw fail(.loneSurrogate)
                }
                appendUTF8(cp, into: &bytes)
            default: throw fail(.invalidEscape)
            }
        }
        throw fail(.unexpectedEnd)
    }

    func appendUTF8(_ cp: UInt32, into out: inout [UInt8]) {
        switch cp {
        case 0..<0x80: out.append(UInt8(cp))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (cp >> 6)))
            out.append(UInt8(0x80 | (cp & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (cp >> 12)))
            out.append(UInt8(0x80 | ((cp >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (cp & 0x3F)))
        default:
            out.append(UInt8(0xF0 | (cp >> 18)))
            out.append(UInt8(0x80 | ((cp >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((cp >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (cp & 0x3F)))
        }
    }
}

/// Why a JSON text was refused, and the byte offset where the reader stopped.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case unexpectedEnd = "unexpected_end"
        case unexpectedCharacter = "unexpected_character"
        case trailingData = "trailing_data"
        case expectedKey = "expected_key"
        case expectedColon = "expected_colon"
        case expectedCommaOrEnd = "expected_comma_or_end"
        case duplicateKey = "duplicate_key"
        case invalidNumber = "invalid_number"
        case numberOutOfRange = "number_out_of_range"
        case invalidEscape = "invalid_escape"
        case loneSurrogate = "lone_surrogate"
        case controlCharacterInString = "control_character_in_string"
        case invalidUTF8 = "invalid_utf8"
        case tooDeep = "too_deep"
        case stringTooLong = "string_too_long"
        case tooManyMembers = "too_many_members"
        case tooManyValues = "too_many_values"
    }
    public let code: Code
    public let offset: Int
    public var description: String { "\(code.rawValue) at byte \(offset)" }
}
