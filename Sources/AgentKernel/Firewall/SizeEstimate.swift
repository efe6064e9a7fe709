/// Payload size estimates (docs/reference-semantics.md §8.4): the raw-mode budget warning, handle byte caps
/// and the default budget token counter all depend on these exact numbers.
public enum SizeEstimate {
    /// `estimated_size(v, limit)`: approximates `len(json.dumps(v, default=str))`
    /// without serialising. Walks iteratively in the reference's LIFO order (so the
    /// early-exit value with `limit` is the same number) and cannot overflow the stack
    /// on deep input. JSON values are trees, so the reference's cycle guard is moot.
    public static func estimatedSize(_ v: JSONValue, limit: Int? = nil) -> Int {
        var total = 0
        var stack: [JSONValue] = [v]
        while let cur = stack.popLast() {
            switch cur {
            case .null: total &+= 4
            case .bool(let b): total &+= b ? 4 : 5
            case .string(let s): total &+= PyString.len(s) + 2
            case .int(let i): total &+= decimalLength(i)
            case .double(let d): total &+= PyFloat.repr(d).utf8.count  // ASCII
            case .object(let o):
                total &+= 2 + 2 * max(0, o.count - 1)
                for (k, value) in o {
                    total &+= PyString.len(k) + 4
                    stack.append(value)
                }
            case .array(let a):
                total &+= 2 + 2 * max(0, a.count - 1)
                stack.append(contentsOf: a)
            }
            if let limit, total > limit { return total }
        }
        return total
    }

    /// `default_token_counter(v)`: null -> 0, else `len(json.dumps(v)) // 4` with
    /// Python's default separators and ASCII escaping (the serialisation is pure
    /// ASCII, so its byte count is its character count).
    public static func defaultTokenCount(_ v: JSONValue) -> Int {
        if v.isNull { return 0 }
        return v.serializedBytes(.pythonDefault).count / 4
    }

    /// `len(str(i))` for an int.
    static func decimalLength(_ i: Int) -> Int {
        if i == Int.min { return 20 }
        var n = i < 0 ? 2 : 1
        var m = i < 0 ? -i : i
        while m >= 10 {
            m /= 10
            n += 1
        }
        return n
    }
}
