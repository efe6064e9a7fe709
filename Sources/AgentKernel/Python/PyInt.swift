/// Python `int(x)` coercion as the reference applies it to `max_rows`, `offset` and
/// `limit` (docs/reference-semantics.md §0): nil exactly where Python raises. Python ints are unbounded, so values
/// beyond `Int` saturate (they are only ever clamped or compared afterwards). One
/// implementation serves the policy, the firewall and handle expansion: `PyCoerce.int`,
/// which also carries Python's exception class and message.
public enum PyInt {
    public static func coerce(_ v: JSONValue) -> Int? { try? PyCoerce.int(v).get() }

    /// `int(str)`.
    public static func parse(_ s: String) -> Int? { try? PyCoerce.parse(s).get() }
}
