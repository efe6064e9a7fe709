/// Python built-ins the firewall and handle expansion apply to untrusted constraint
/// and query values, with the exact exception class and message the reference
/// produces (`max_rows`, `offset`, `limit` go through `int()`; `allowed_fields`
/// through `list()`).
enum PyCoerce {
    /// A Python exception: class name and `str(exc)`.
    struct PyError: Error, Equatable {
        let type: String
        let message: String

        /// As a kernel error. KernelError has no TypeError/OverflowError kind, so every
        /// Python built-in failure maps to `.valueError` with Python's exact message.
        var kernelError: KernelError { KernelError(.valueError, message) }
    }

    /// Python `int(v)`. Python ints are unbounded; values beyond `Int` saturate, which
    /// is equivalent for every use here (slicing and comparisons with row counts).
    static func int(_ v: JSONValue) -> Result<Int, PyError> {
        switch v {
        case .int(let i): return .success(i)
        case .bool(let b): return .success(b ? 1 : 0)
        case .double(let d):
            if d.isNaN { return .failure(PyError(type: "ValueError", message: "cannot convert float NaN to integer")) }
            if d.isInfinite {
                return .failure(PyError(type: "OverflowError", message: "cannot convert float infinity to integer"))
            }
            let t = d.rounded(.towardZero)
            if t >= 9.223372036854775807e18 { return .success(Int.max) }
            if t < -9.223372036854775808e18 { return .success(Int.min) }
            return .success(Int(t))
        case .string(let s):
            return parse(s)
        default:
            return .failure(PyError(
                type: "TypeError",
                message: "int() argument must be a string, a bytes-like object or a real number, not '\(PyRow.typeName(v))'"))
        }
    }

    /// `int(str)`: strip Python whitespace, one sign, decimal digits (any script) with
    /// single underscores between them; CPython's 4300-digit limit applies.
    static func parse(_ s: String) -> Result<Int, PyError> {
        let invalid = PyError(type: "ValueError",
                              message: "invalid literal for int() with base 10: " + PyString.prefix(PyString.repr(s), 200))
        let t = Array(PyString.strip(s).unicodeScalars)
        var i = 0
        var negative = false
        if i < t.count && (t[i] == "+" || t[i] == "-") {
            negative = t[i] == "-"
            i += 1
        }
        var value = 0
        var saturated = false
        var digits = 0
        var lastWasDigit = false
        while i < t.count {
            let u = t[i]
            if u == "_" {
                guard lastWasDigit else { return .failure(invalid) }
                lastWasDigit = false
            } else if u.properties.numericType == .decimal, let dv = u.properties.numericValue {
                digits += 1
                lastWasDigit = true
                if !saturated {
                    let (m, o1) = value.multipliedReportingOverflow(by: 10)
                    let (a, o2) = m.addingReportingOverflow(Int(dv))
                    if o1 || o2 { saturated = true } else { value = a }
                }
            } else {
                return .failure(invalid)
            }
            i += 1
        }
        guard digits > 0, lastWasDigit else { return .failure(invalid) }
        if digits > 4300 {
            return .failure(PyError(type: "ValueError", message:
                "Exceeds the limit (4300 digits) for integer string conversion: value has \(digits) digits; use sys.set_int_max_str_digits() to increase the limit"))
        }
        if saturated { return .success(negative ? Int.min : Int.max) }
        return .success(negative ? -value : value)
    }

    /// Python `list(v)` of a JSON value: arrays as is, a string's characters, an
    /// object's keys; anything else raises TypeError.
    static func list(_ v: JSONValue) -> Result<[JSONValue], PyError> {
        switch v {
        case .array(let a): return .success(a)
        case .string(let s): return .success(s.unicodeScalars.map { .string(String($0)) })
        case .object(let o): return .success(o.keys.map(JSONValue.string))
        default: return .failure(PyError(type: "TypeError", message: "'\(PyRow.typeName(v))' object is not iterable"))
        }
    }


    /// `seq[:n]` with Python's negative-index semantics.
    static func prefixCount(_ count: Int, _ n: Int) -> Int {
        n >= 0 ? min(n, count) : max(0, count + max(n, -count))
    }
}
