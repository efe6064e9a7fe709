/// Strings, numbers and booleans for `TOMLReader` (TOML 1.0 §String, §Integer, §Float).
extension TOMLReader {
    /// After the opening `"`: escapes, no raw control characters except tab, no newline.
    mutating func basicString() throws(ParseError) -> String {
        var out: [UInt8] = []
        while true {
            guard let c = peek else { throw fail("Unterminated string") }
            i += 1
            switch c {
            case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"): try escape(into: &out)
            case 0x09: out.append(c)
            case 0x00..<0x20, 0x7F: throw fail("Illegal character in a basic string")
            default: out.append(c)
            }
        }
    }

    mutating func escape(into out: inout [UInt8]) throws(ParseError) {
        guard let e = peek else { throw fail("Unterminated string") }
        i += 1
        switch e {
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let n = e == UInt8(ascii: "u") ? 4 : 8
            guard i + n <= b.count, let v = UInt32(String(decoding: b[i..<i + n], as: UTF8.self), radix: 16),
                  let scalar = Unicode.Scalar(v) else { throw fail("Invalid unicode escape") }
            i += n
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
        default: throw fail("Unescaped '\\' in a string")
        }
    }

    /// After the opening `'`: verbatim up to the next `'`, no newline.
    mutating func literalString() throws(ParseError) -> String {
        let start = i
        while let c = peek, c != UInt8(ascii: "'") {
            if c == 0x0A || (c < 0x20 && c != 0x09) || c == 0x7F { throw fail("Illegal character in a literal string") }
            i += 1
        }
        guard peek != nil else { throw fail("Unterminated string") }
        defer { i += 1 }
        return String(decoding: b[start..<i], as: UTF8.self)
    }

    /// After `"""` or `'''`: a newline right after the opener is trimmed; up to two quote
    /// characters may precede the closer; basic ones support line-ending backslashes.
    mutating func multilineString(literal: Bool) throws(ParseError) -> String {
        let q = literal ? UInt8(ascii: "'") : UInt8(ascii: "\"")
        if peek == 0x0A { i += 1 } else if peek == 0x0D && at(1) == 0x0A { i += 2 }
        var out: [UInt8] = []
        while true {
            guard let c = peek else { throw fail("Unterminated string") }
            if c == q && at(1) == q && at(2) == q {
                i += 3
                // """"" : the closer is the last three quotes; up to two belong to the content.
                var extra = 0
                while peek == q && extra < 2 { out.append(q); i += 1; extra += 1 }
                return String(decoding: out, as: UTF8.self)
            }
            i += 1
            if !literal && c == UInt8(ascii: "\\") {
                // Line-ending backslash: trim whitespace and newlines up to the next content.
                var k = i
                while k < b.count, b[k] == 0x20 || b[k] == 0x09 { k += 1 }
                if k < b.count, b[k] == 0x0A || (b[k] == 0x0D && k + 1 < b.count && b[k + 1] == 0x0A) {
                    i = k
                    while let d = peek, d == 0x20 || d == 0x09 || d == 0x0A || d == 0x0D { i += 1 }
                    continue
                }
                try escape(into: &out)
                continue
            }
            if c == 0x0D && peek == 0x0A { out.append(c); continue }
            if (c < 0x20 && c != 0x09 && c != 0x0A) || c == 0x7F { throw fail("Illegal character in a string") }
            out.append(c)
        }
    }

    /// Booleans, integers and floats; date-times are recognised and refused.
    mutating func scalar() throws(ParseError) -> JSONValue {
        let start = i
        while let c = peek, Self.isBare(c) || c == UInt8(ascii: "+") || c == UInt8(ascii: ".") || c == UInt8(ascii: ":") {
            i += 1
        }
        let tok = String(decoding: b[start..<i], as: UTF8.self)
        let bytes = Array(b[start..<i])
        if tok == "true" { return .bool(true) }
        if tok == "false" { return .bool(false) }
        if bytes.count >= 5, bytes[4] == UInt8(ascii: "-"), bytes[0..<4].allSatisfy(Self.isDigit)
            || bytes.count >= 3 && bytes[2] == UInt8(ascii: ":") && bytes[0..<2].allSatisfy(Self.isDigit) {
            i = start
            throw fail("Date-time values are not supported in policy files")
        }
        guard let v = Self.number(tok) else {
            i = start
            throw fail(tok.isEmpty ? "Invalid value" : "Invalid value '\(tok)'")
        }
        return v
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// Digits (per `valid`) with single underscores between them; nil if malformed.
    static func digitsWithUnderscores(_ s: Substring, _ valid: (Character) -> Bool) -> String? {
        guard let f = s.first, let l = s.last, f != "_", l != "_" else { return nil }
        var out = ""
        var prevUnderscore = false
        for ch in s {
            if ch == "_" {
                if prevUnderscore { return nil }
                prevUnderscore = true
            } else {
                guard valid(ch) else { return nil }
                prevUnderscore = false
                out.append(ch)
            }
        }
        return out
    }

    static func number(_ tok: String) -> JSONValue? {
        var body = Substring(tok)
        var sign = ""
        if let f = body.first, f == "+" || f == "-" {
            sign = f == "-" ? "-" : ""
            body = body.dropFirst()
        }
        if body == "inf" { return .double(sign == "-" ? -.infinity : .infinity) }
        if body == "nan" { return .double(.nan) }
        let isDec: (Character) -> Bool = { $0.isASCII && $0.isNumber }
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where body.hasPrefix(prefix) {
            guard tok.first != "+" && tok.first != "-",
                  let d = digitsWithUnderscores(body.dropFirst(2), { $0.isHexDigit && Int(String($0), radix: 16)! < radix })
            else { return nil }
            return Int(d, radix: radix).map(JSONValue.int)
        }
        // Split mantissa / exponent, then integer part / fraction.
        var mantissa = body
        var exponent: Substring?
        if let e = body.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = body[..<e]
            exponent = body[body.index(after: e)...]
        }
        var intPart = mantissa
        var frac: Substring?
        if let dot = mantissa.firstIndex(of: ".") {
            intPart = mantissa[..<dot]
            frac = mantissa[mantissa.index(after: dot)...]
        }
        guard let ip = digitsWithUnderscores(intPart, isDec), ip == "0" || !ip.hasPrefix("0") else { return nil }
        if frac == nil && exponent == nil { return Int(sign + ip).map(JSONValue.int) }
        var text = sign + ip
        if let frac {
            guard let fp = digitsWithUnderscores(frac, isDec) else { return nil }
            text += "." + fp
        }
        if var exp = exponent {
            var esign = ""
            if let f = exp.first, f == "+" || f == "-" { esign = String(f); exp = exp.dropFirst() }
            guard let ep = digitsWithUnderscores(exp, isDec) else { return nil }
            text += "e" + esign + ep
        }
        return Double(text).map(JSONValue.double)
    }
}
