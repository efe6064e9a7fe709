/// Python float formatting, because the reference's bytes depend on it: canonical JSON
/// for signatures, `str(v)` in summary facts, `repr` in messages.
public enum PyFloat {
    /// Python `repr(float)`: the shortest round-tripping digits, fixed notation when
    /// the decimal exponent is in [-4, 16), scientific (`1e-05`, `1e+16`) otherwise,
    /// and always a `.0` on integral fixed values.
    public static func repr(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        let (negative, digits, decpt) = shortestDigits(d)
        var s = negative ? "-" : ""
        // decpt: value = 0.d1d2...dn * 10^decpt
        if decpt > 16 || decpt < -3 {
            let exp = decpt - 1
            s += String(digits.first!)
            if digits.count > 1 { s += "." + digits.dropFirst() }
            s += "e" + (exp < 0 ? "-" : "+")
            let e = String(abs(exp))
            s += e.count < 2 ? "0" + e : e
        } else if decpt <= 0 {
            s += "0." + String(repeating: "0", count: -decpt) + digits
        } else if decpt >= digits.count {
            s += digits + String(repeating: "0", count: decpt - digits.count) + ".0"
        } else {
            let i = digits.index(digits.startIndex, offsetBy: decpt)
            s += digits[..<i] + "." + digits[i...]
        }
        return s
    }

    /// Python `json.dumps` for a float: `repr`, except non-finite values are
    /// `NaN`, `Infinity`, `-Infinity`.
    public static func jsonRepr(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return repr(d)
    }

    /// Decomposes Swift's shortest round-trip `description` (same digits as Python's
    /// `repr`, both use the shortest-digits algorithm) into sign, digit string and
    /// decimal point position.
    static func shortestDigits(_ d: Double) -> (Bool, String, Int) {
        var text = Swift.abs(d).description  // e.g. "1e-05", "0.1", "123.45", "1.2345e+20"
        var exp = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exp = Int(text[text.index(after: e)...])!
            text = String(text[..<e])
        }
        var intPart = text
        var frac = ""
        if let dot = text.firstIndex(of: ".") {
            intPart = String(text[..<dot])
            frac = String(text[text.index(after: dot)...])
        }
        var digits = intPart + frac
        var decpt = intPart.count + exp
        // strip leading zeros (e.g. "0.001" -> "0001")
        while digits.first == "0" && digits.count > 1 {
            digits.removeFirst()
            decpt -= 1
        }
        while digits.last == "0" && digits.count > 1 { digits.removeLast() }
        return (d < 0, digits, decpt)
    }
}
