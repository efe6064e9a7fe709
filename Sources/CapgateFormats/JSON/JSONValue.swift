/// A JSON value with the fidelity the reference's Python semantics need (docs/reference-semantics.md §0):
/// objects keep insertion order, and integers and doubles stay distinct (`5` vs `5.0`
/// changes signatures, summaries and equality).
///
/// `==` is structural and order-sensitive (it is what parity tests want). Python's
/// looser `==` (`1 == 1.0 == True`, dicts compare without order) is `pyEquals`.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

extension JSONValue {
    public var isNull: Bool { if case .null = self { return true } else { return false } }
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var intValue: Int? { if case .int(let i) = self { return i } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var doubleValue: Double? { if case .double(let d) = self { return d } else { return nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var objectValue: JSONObject? { if case .object(let o) = self { return o } else { return nil } }

    /// Member lookup on an object; nil for any other value or a missing key.
    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// Python truthiness (`bool(v)`): null, false, zero, and empty strings, lists and
    /// dicts are false.
    public var pyTruthy: Bool {
        switch self {
        case .null: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .array(let a): return !a.isEmpty
        case .object(let o): return !o.isEmpty
        }
    }

    /// Python `==`: bools are the ints 0/1, ints equal floats of the same value,
    /// lists compare element-wise, dicts compare by key set and values (order ignored).
    public func pyEquals(_ other: JSONValue) -> Bool {
        switch (self, other) {
        case (.null, .null): return true
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)):
            guard a.count == b.count else { return false }
            for i in a.indices where !a[i].pyEquals(b[i]) { return false }
            return true
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            for (k, v) in a {
                guard let w = b[k], v.pyEquals(w) else { return false }
            }
            return true
        default:
            if let x = self.pyNumeric, let y = other.pyNumeric {
                switch (x, y) {
                case (.int(let i), .int(let j)): return i == j
                case (.int(let i), .double(let d)), (.double(let d), .int(let i)):
                    return Double(exactly: i).map { $0 == d } ?? (d.isFinite && d == d.rounded() && Int(exactly: d) == i)
                case (.double(let a), .double(let b)): return a == b
                default: return false
                }
            }
            return false
        }
    }

    /// The numeric view Python uses for `==`: bools count as ints.
    private var pyNumeric: JSONValue? {
        switch self {
        case .bool(let b): return .int(b ? 1 : 0)
        case .int, .double: return self
        default: return nil
        }
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        var o = JSONObject()
        if elements.count > 1 { o.reserveCapacity(elements.count) }  // as `JSONObject`'s literal
        for (k, v) in elements { o[k] = v }
        self = .object(o)
    }
}

/// An insertion-ordered JSON object. Lookups are linear, which beats hashing for the
/// small objects (rows, constraints, args) the kernel handles; keys are unique.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var keys: [String] = []
    public private(set) var values: [JSONValue] = []

    public init() {}
    /// Both arrays sized first when there are several members: appended one by one, each
    /// grew twice for a two-key literal (a driver's row built on every call). Not for `[:]`
    /// or one member: reserving on the shared empty array allocates, where an empty literal
    /// allocated nothing and one append allocates once anyway.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        if elements.count > 1 { reserveCapacity(elements.count) }
        for (k, v) in elements { self[k] = v }
    }
    /// Builds from pairs; a repeated key keeps its first position and the last value
    /// (Python `dict` semantics).
    public init(_ pairs: [(String, JSONValue)]) {
        keys.reserveCapacity(pairs.count)
        values.reserveCapacity(pairs.count)
        for (k, v) in pairs { self[k] = v }
    }

    /// Builds from parallel arrays whose keys the caller guarantees distinct (a constant key
    /// list is then shared, not copied, by every object built from it).
    public init(uniqueKeys keys: [String], values: [JSONValue]) {
        precondition(keys.count == values.count, "JSONObject: \(keys.count) keys for \(values.count) values")
        self.keys = keys
        self.values = values
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    /// Keys compare by code points (Python `str ==`), not by Swift's canonical
    /// equivalence: `"é"` and `"e\u{301}"` are different keys, as in the reference.
    @inlinable
    public func index(of key: String) -> Int? {
        keys.firstIndex { PyString.equal($0, key) }
    }

    /// Get, replace in place, append, or (with nil) remove a member.
    public subscript(key: String) -> JSONValue? {
        get {
            if let i = index(of: key) { return values[i] }
            return nil
        }
        set {
            if let i = index(of: key) {
                if let v = newValue { values[i] = v } else { keys.remove(at: i); values.remove(at: i) }
            } else if let v = newValue {
                keys.append(key)
                values.append(v)
            }
        }
    }

    /// Appends without checking for an existing key. Only for callers that already
    /// guarantee uniqueness (the parser checks duplicates itself).
    public mutating func appendUnchecked(_ key: String, _ value: JSONValue) {
        keys.append(key)
        values.append(value)
    }

    public mutating func reserveCapacity(_ n: Int) {
        keys.reserveCapacity(n)
        values.reserveCapacity(n)
    }

    public struct Iterator: IteratorProtocol {
        let object: JSONObject
        var i = 0
        public mutating func next() -> (key: String, value: JSONValue)? {
            guard i < object.keys.count else { return nil }
            defer { i += 1 }
            return (object.keys[i], object.values[i])
        }
    }

    public func makeIterator() -> Iterator { Iterator(object: self) }
}
