/// A dictionary key with Python `str` identity: equal iff the code points are equal.
///
/// Swift's `String ==` and `String.hash` use canonical equivalence, so `"é"` (U+00E9) and
/// `"e\u{301}"` would collide in a `[String: T]`. The reference keys its registry, trace
/// store and handler maps by Python `str`, where those are two different ids (spec §0);
/// collapsing them would let a look-alike id shadow or replace another entry.
struct CodePointStringKey: Hashable, Sendable {
    let value: String

    init(_ value: String) { self.value = value }

    static func == (a: CodePointStringKey, b: CodePointStringKey) -> Bool {
        a.value.utf8.elementsEqual(b.value.utf8)
    }

    func hash(into hasher: inout Hasher) {
        var s = value
        s.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
