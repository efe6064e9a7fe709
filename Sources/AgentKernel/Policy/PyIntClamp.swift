/// Python `int(x)` for a value that is only ever clamped afterwards (`max_rows`, spec §5.1
/// step 5). Python ints are unbounded, so `int(1e300)` or a 30-digit string succeed and
/// then clamp to the cap; returning nil there (as `PyInt.coerce` does on overflow) would
/// wrongly deny with `invalid_constraint`. Out-of-range values saturate instead.
/// nil exactly where Python raises TypeError/ValueError, including CPython 3.11's limit of
/// 4300 digits for `int(str)`.
enum PyIntClamp {
    static let maxStringDigits = 4300

    static func coerce(_ v: JSONValue) -> Int? {
        switch v {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        case .double(let d):
            // int(nan) is ValueError; int(inf) is OverflowError (not caught by the reference
            // either, but failing closed as invalid_constraint is the safe reading).
            guard d.isFinite else { return nil }
            let t = d.rounded(.towardZero)
            if t >= 9.2233720368547758e18 { return Int.max }
            if t < -9.2233720368547758e18 { return Int.min }
            return Int(t)
        case .string(let s): return parse(s)
        default: return nil
        }
    }

    /// `int(str)`: Python whitespace around, one sign, Unicode decimal digits with single
    /// underscores between them.
    static func parse(_ s: String) -> Int? {
        let t = Array(PyString.strip(s).unicodeScalars)
        var i = 0
        var negative = false
        if i < t.count && (t[i] == "+" || t[i] == "-") {
            negative = t[i] == "-"
            i += 1
        }
        var value = 0
        var overflow = false
        var digits = 0
        var lastWasDigit = false
        while i < t.count {
            let u = t[i]
            if u == "_" {
                guard lastWasDigit else { return nil }
                lastWasDigit = false
            } else if u.properties.numericType == .decimal, let dv = u.properties.numericValue {
                digits += 1
                if !overflow {
                    let (m, o1) = value.multipliedReportingOverflow(by: 10)
                    let (a, o2) = m.addingReportingOverflow(Int(dv))
                    if o1 || o2 { overflow = true } else { value = a }
                }
                lastWasDigit = true
            } else {
                return nil
            }
            i += 1
        }
        guard digits > 0, lastWasDigit, digits <= maxStringDigits else { return nil }
        if overflow {
            // Leading zeros cannot overflow, so an overflow means a magnitude beyond Int.
            return negative ? Int.min : Int.max
        }
        return negative ? -value : value
    }
}
