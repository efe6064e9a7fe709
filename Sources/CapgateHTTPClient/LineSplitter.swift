/// Cuts a byte stream into "\n"-terminated lines (NDJSON), however DATA frames split it.
/// A line longer than `maxLineBytes` is an error rather than unbounded memory.
public struct LineSplitter: Sendable {
    public struct LineTooLong: Error, Sendable {
        public let limit: Int
    }

    public let maxLineBytes: Int
    private var pending: [UInt8] = []

    public init(maxLineBytes: Int) { self.maxLineBytes = maxLineBytes }

    /// The complete lines in `bytes` (without their newline), keeping a partial last one.
    public mutating func feed(_ bytes: [UInt8]) throws(LineTooLong) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var start = bytes.startIndex
        while let nl = bytes[start...].firstIndex(of: 0x0A) {
            pending += bytes[start..<nl]
            if pending.count > maxLineBytes { throw LineTooLong(limit: maxLineBytes) }
            lines.append(pending)
            pending = []
            start = nl + 1
        }
        pending += bytes[start...]
        if pending.count > maxLineBytes { throw LineTooLong(limit: maxLineBytes) }
        return lines
    }

    /// Bytes after the last newline (a truncated line when the stream has ended).
    public var remainder: [UInt8] { pending }
}
