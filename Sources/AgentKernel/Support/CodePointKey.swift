/// A dictionary/set key with Python `str` identity: equal iff the code points are equal.
///
/// Swift `String` hashing and `==` use canonical equivalence, so `"e\u{301}"` and `"é"`
/// (or `"K"` and U+212A KELVIN SIGN) would collide as keys; Python keeps them apart.
/// For security-relevant maps (handle ids, session ids, projections) that difference
/// would merge distinct identities, so those maps key on code points instead.
public struct CodePointKey: Hashable, Sendable {
    public let string: String

    public init(_ string: String) { self.string = string }

    public static func == (a: CodePointKey, b: CodePointKey) -> Bool {
        PyString.equal(a.string, b.string)
    }

    public func hash(into hasher: inout Hasher) {
        let done: Void? = string.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if done == nil {
            Array(string.utf8).withUnsafeBytes { hasher.combine(bytes: $0) }
        }
        hasher.combine(0xFF as UInt8)  // terminator: not a valid UTF-8 byte
    }
}
