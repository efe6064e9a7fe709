/// The grant's `allowed_fields` as Python sees it in `handle_query.py`: normally a list
/// of names, but constraints are free-form JSON, and Python's `in` / `list()` /
/// `sorted()` then follow the value's type (a string tests substrings, an object its
/// keys). Reproduced so a malformed grant fails or passes exactly as in the reference.
enum GrantedFields {
    case list([JSONValue])
    case string(String)
    case dict(JSONObject)
    case scalar(JSONValue)

    /// Only built for a truthy value (`constraints.get("allowed_fields") or []`).
    init(_ v: JSONValue) {
        switch v {
        case .array(let a): self = .list(a)
        case .string(let s): self = .string(s)
        case .object(let o): self = .dict(o)
        default: self = .scalar(v)
        }
    }

    /// Python `f in granted_fields`.
    func contains(_ f: JSONValue) throws(KernelError) -> Bool {
        switch self {
        case .list(let a):
            return a.contains { $0.pyEquals(f) }
        case .string(let s):
            guard case .string(let needle) = f else {
                throw KernelError(.valueError, "'in <string>' requires string as left operand, not \(PyRow.typeName(f))")
            }
            return PyRow.isSubstring(needle, of: s)
        case .dict(let o):
            switch f {
            case .array, .object: throw KernelError(.valueError, "unhashable type: '\(PyRow.typeName(f))'")
            case .string(let k): return o.index(of: k) != nil
            default: return false  // JSON object keys are all strings
            }
        case .scalar(let v):
            throw KernelError(.valueError, "argument of type '\(PyRow.typeName(v))' is not iterable")
        }
    }

    /// Python `list(granted_fields)`.
    func list() throws(KernelError) -> [JSONValue] {
        switch self {
        case .list(let a): return a
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .dict(let o): return o.keys.map(JSONValue.string)
        case .scalar(let v): throw KernelError(.valueError, "'\(PyRow.typeName(v))' object is not iterable")
        }
    }
}

/// Python `sorted()` for the lists that appear in handle messages.
enum PySort {
    /// `repr(sorted(values))`. Strings sort by code point, numbers (bools included)
    /// numerically, stably. Python raises TypeError on mixed kinds; the message names
    /// the first adjacent mismatched pair, which is the first comparison timsort makes
    /// for short lists in the common case (exact pair choice is otherwise approximate).
    static func sortedRepr(_ values: [JSONValue]) throws(KernelError) -> String {
        try sorted(values).pyRepr
    }

    static func sorted(_ values: [JSONValue]) throws(KernelError) -> JSONValue {
        if values.count <= 1 { return .array(values) }  // nothing to compare
        if values.allSatisfy({ $0.stringValue != nil }) {
            return .array(values.sorted { PyString.less($0.stringValue!, $1.stringValue!) })
        }
        if values.allSatisfy({ numeric($0) != nil }) {
            return .array(values.enumerated().sorted { a, b in
                let x = numeric(a.element)!, y = numeric(b.element)!
                return x != y ? x < y : a.offset < b.offset
            }.map(\.element))
        }
        for i in 1..<values.count where kind(values[i]) != kind(values[i - 1]) || kind(values[i]) == 0 {
            throw KernelError(.valueError,
                              "'<' not supported between instances of '\(PyRow.typeName(values[i]))' and '\(PyRow.typeName(values[i - 1]))'")
        }
        throw KernelError(.valueError, "'<' not supported between instances of 'dict' and 'dict'")
    }

    private static func numeric(_ v: JSONValue) -> Double? {
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    /// 1 string, 2 number, 3 list; 0 for kinds with no ordering (None, dict).
    private static func kind(_ v: JSONValue) -> Int {
        switch v {
        case .string: return 1
        case .int, .double, .bool: return 2
        case .array: return 3
        default: return 0
        }
    }
}
