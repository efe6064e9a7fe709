/// Reads one JSON object (or a TOML table, which the TOML reader hands over as one) field
/// by field, with typed accessors whose errors name the field's dotted path. It is the one
/// strict field reader of the project: the kernel's model decoders, the wire's request
/// bodies, the server configuration and the PKI index all read through it.
///
/// It remembers which fields it consumed so `finish()` can reject anything unknown: a
/// typo'd field (or config key) is an error, not a silent no-op. Callers that accept
/// extra fields (the kernel's `from_dict` shapes) simply never call `finish()`.
///
/// An absent field and a JSON `null` are the same for the optional accessors; required
/// accessors reject `null` as the wrong type. TOML has no `null`, so for configuration
/// files "optional" simply means "absent".
///
/// `Failure` is the caller's own error type: each layer keeps its error shape and says,
/// in `FieldErrorConvertible`, how a field failure becomes one.
public struct FieldReader<Failure: FieldErrorConvertible> {
    public let object: JSONObject
    /// Dotted path of this object ("" at the top level).
    public let context: String
    public let vocabulary: FieldVocabulary
    @usableFromInline var used: [String] = []

    /// Fails with "<context>: must be an object" (or "a table") unless `value` is one.
    @inlinable
    public init(_ value: JSONValue, _ context: String, vocabulary: FieldVocabulary = .json) throws(Failure) {
        guard case .object(let o) = value else {
            throw Failure(fieldError: FieldError(context, "must be \(vocabulary.container)"))
        }
        self.init(object: o, context: context, vocabulary: vocabulary)
    }

    @inlinable
    public init(object: JSONObject, context: String, vocabulary: FieldVocabulary = .json) {
        self.object = object
        self.context = context
        self.vocabulary = vocabulary
    }

    /// The dotted path of a member.
    @inlinable
    public func path(_ key: String) -> String { context.isEmpty ? key : context + "." + key }

    /// An error naming a member.
    @inlinable
    public func error(_ key: String, _ message: String) -> Failure {
        Failure(fieldError: FieldError(path(key), message))
    }

    /// The raw member (nil when absent), marking it consumed.
    @inlinable
    public mutating func take(_ key: String) -> JSONValue? {
        used.append(key)
        return object[key]
    }

    /// The raw member, `null` when absent.
    @inlinable
    public mutating func value(_ key: String) -> JSONValue { take(key) ?? .null }

    /// The member names asked for so far, in order (present or not): after a whole shape is
    /// read, the fields that shape knows. docs/openapi.yaml's request schemas are pinned to it.
    public var consumed: [String] { used }

    /// Rejects members nobody asked for, naming the first in document order.
    @inlinable
    public func finish() throws(Failure) {
        for k in object.keys where !used.contains(k) { throw error(k, vocabulary.unknown) }
    }

    // MARK: Required members (absent: "is required"; null is the wrong type)

    @inlinable
    public mutating func required(_ key: String) throws(Failure) -> JSONValue {
        guard let v = take(key) else { throw error(key, "is required") }
        return v
    }

    @inlinable
    public mutating func string(_ key: String) throws(Failure) -> String {
        guard case .string(let s) = try required(key) else { throw error(key, "must be a string") }
        return s
    }

    @inlinable
    public mutating func int(_ key: String) throws(Failure) -> Int {
        guard case .int(let i) = try required(key) else { throw error(key, "must be an integer") }
        return i
    }

    @inlinable
    public mutating func array(_ key: String) throws(Failure) -> [JSONValue] {
        guard case .array(let a) = try required(key) else { throw error(key, "must be an array") }
        return a
    }

    /// A nested object read with its own reader (its errors carry this path).
    @inlinable
    public mutating func nested(_ key: String) throws(Failure) -> FieldReader {
        guard case .object(let o) = try required(key) else { throw error(key, "must be \(vocabulary.container)") }
        return FieldReader(object: o, context: path(key), vocabulary: vocabulary)
    }

    // MARK: Optional members (absent or null: nil)

    @inlinable
    mutating func present(_ key: String) -> JSONValue? {
        guard let v = take(key), !v.isNull else { return nil }
        return v
    }

    @inlinable
    public mutating func optionalString(_ key: String) throws(Failure) -> String? {
        try optionalString(key, expected: "a string")
    }

    /// Same as `optionalString`, with the message saying null is allowed: the models'
    /// decoders describe their Python `Optional[str]` fields that way.
    @inlinable
    public mutating func nullableString(_ key: String) throws(Failure) -> String? {
        try optionalString(key, expected: "a string or null")
    }

    @inlinable
    mutating func optionalString(_ key: String, expected: String) throws(Failure) -> String? {
        guard let v = present(key) else { return nil }
        guard case .string(let s) = v else { throw error(key, "must be \(expected)") }
        return s
    }

    @inlinable
    public mutating func optionalBool(_ key: String) throws(Failure) -> Bool? {
        guard let v = present(key) else { return nil }
        guard case .bool(let b) = v else { throw error(key, "must be \(vocabulary.boolean)") }
        return b
    }

    @inlinable
    public mutating func optionalInt(_ key: String) throws(Failure) -> Int? {
        guard let v = present(key) else { return nil }
        guard case .int(let i) = v else { throw error(key, "must be an integer") }
        return i
    }

    /// An integer or a float, as a `Double`.
    @inlinable
    public mutating func optionalNumber(_ key: String) throws(Failure) -> Double? {
        guard let v = present(key) else { return nil }
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: throw error(key, "must be a number")
        }
    }

    @inlinable
    public mutating func optionalArray(_ key: String) throws(Failure) -> [JSONValue]? {
        guard let v = present(key) else { return nil }
        guard case .array(let a) = v else { throw error(key, "must be an array") }
        return a
    }

    @inlinable
    public mutating func optionalStringList(_ key: String) throws(Failure) -> [String]? {
        guard let v = present(key) else { return nil }
        guard case .array(let a) = v else { throw error(key, "must be an array of strings") }
        var out: [String] = []
        out.reserveCapacity(a.count)
        for e in a {
            guard case .string(let s) = e else { throw error(key, "must be an array of strings") }
            out.append(s)
        }
        return out
    }

    @inlinable
    public mutating func optionalObject(_ key: String) throws(Failure) -> JSONObject? {
        try optionalObject(key, suffix: "")
    }

    /// Same as `optionalObject`, with the message saying null is allowed.
    @inlinable
    public mutating func nullableObject(_ key: String) throws(Failure) -> JSONObject? {
        try optionalObject(key, suffix: " or null")
    }

    @inlinable
    mutating func optionalObject(_ key: String, suffix: String) throws(Failure) -> JSONObject? {
        guard let v = present(key) else { return nil }
        guard case .object(let o) = v else { throw error(key, "must be \(vocabulary.container)\(suffix)") }
        return o
    }

    /// An object whose members must all be strings (absent: empty); a bad member is
    /// named by its own path.
    @inlinable
    public mutating func stringMap(_ key: String) throws(Failure) -> JSONObject {
        guard let v = present(key) else { return [:] }
        guard case .object(let o) = v else { throw error(key, "must be \(vocabulary.container) of strings") }
        for (name, x) in o where x.stringValue == nil {
            throw Failure(fieldError: FieldError("\(path(key)).\(name)", "must be a string"))
        }
        return o
    }

    /// A nested object read with its own reader; absent reads as empty, so its
    /// `finish()` passes and its optional members are all nil.
    @inlinable
    public mutating func optionalNested(_ key: String) throws(Failure) -> FieldReader {
        guard let v = present(key) else { return FieldReader(object: [:], context: path(key), vocabulary: vocabulary) }
        return try FieldReader(v, path(key), vocabulary: vocabulary)
    }

    /// An array of objects (TOML `[[key]]`), one reader each, named `key[i]`; absent is empty.
    @inlinable
    public mutating func nestedList(_ key: String) throws(Failure) -> [FieldReader] {
        guard let v = present(key) else { return [] }
        guard case .array(let a) = v else {
            let noun = vocabulary.tableArraySyntax ? "tables ([[\(key)]])" : "objects"
            throw error(key, "must be an array of \(noun)")
        }
        var out: [FieldReader] = []
        for (i, e) in a.enumerated() { out.append(try FieldReader(e, "\(path(key))[\(i)]", vocabulary: vocabulary)) }
        return out
    }
}

/// How messages name the container and booleans: the wire and the models speak JSON
/// ("must be an object", "must be a boolean"), the configuration speaks TOML
/// ("must be a table", "must be true or false", "unknown key").
public struct FieldVocabulary: Sendable {
    /// "an object" or "a table".
    public var container: String
    /// "a boolean" or "true or false".
    public var boolean: String
    /// "unknown field" or "unknown key".
    public var unknown: String
    /// TOML names arrays of tables by their syntax: "must be an array of tables ([[k]])".
    public var tableArraySyntax: Bool

    public static let json = FieldVocabulary(container: "an object", boolean: "a boolean", unknown: "unknown field",
                                        tableArraySyntax: false)
    public static let toml = FieldVocabulary(container: "a table", boolean: "true or false", unknown: "unknown key",
                                        tableArraySyntax: true)
}
