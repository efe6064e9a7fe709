/// Redacts a text stream delivered in chunks so that a secret split across two chunks is
/// still caught (the reference's `firewall/redaction.StreamRedactor`; docs/design.md section 5,
/// the building block of `invoke_stream`).
///
/// The trailing `overlap` characters are held back until more text arrives, and text is only
/// committed at a character that cannot be part of a contiguous secret token, so a JWT, bearer
/// value, API key or connection string is never cut in two. To bound memory the buffer is
/// force-committed once it holds more than `4 * overlap` characters without such a boundary
/// (the reference's documented trade: one unbroken token longer than that can be cut).
/// Lengths and cuts count Unicode scalars, as Python counts code points.
///
/// Single-stream and stateful: `feed` chunks in order, then `flush` once at the end.
public struct StreamRedactor: Sendable {
    public static let defaultOverlap = 256

    private var pending: [Unicode.Scalar] = []
    public let overlap: Int
    private let maxPending: Int

    public init(overlap: Int = StreamRedactor.defaultOverlap) {
        self.overlap = overlap
        self.maxPending = overlap * 4
    }

    /// Characters that can occur inside a contiguous secret token: `[A-Za-z0-9._~+/:=@-]`.
    static func isTokenCharacter(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x41...0x5A, 0x61...0x7A, 0x30...0x39: return true
        default: return "._~+/:=@-".unicodeScalars.contains(c)
        }
    }

    /// Takes the next chunk; returns the redacted text now safe to emit (possibly empty) and
    /// the warnings of that text.
    public mutating func feed(_ text: String) -> (String, [String]) {
        pending.append(contentsOf: text.unicodeScalars)
        guard pending.count > overlap else { return ("", []) }
        var cut = pending.count - overlap
        if pending.count <= maxPending {
            while cut > 0 && Self.isTokenCharacter(pending[cut - 1]) { cut -= 1 }
            if cut <= 0 { return ("", []) }
        }
        let committed = String(String.UnicodeScalarView(pending[..<cut]))
        pending.removeFirst(cut)
        return Redaction.redactStringWithWarnings(committed)
    }

    /// Redacts and returns what is still held back (end of stream).
    public mutating func flush() -> (String, [String]) {
        guard !pending.isEmpty else { return ("", []) }
        let rest = String(String.UnicodeScalarView(pending))
        pending = []
        return Redaction.redactStringWithWarnings(rest)
    }
}
