/// Splits a byte stream into raw HTTP/2 frames (RFC 9113 §4.1) so tests can assert on exactly
/// what a session sent: SETTINGS entries, GOAWAY codes, RST_STREAM codes, header blocks.
public struct RawFrame: Sendable, Equatable {
    public let type: UInt8
    public let flags: UInt8
    public let stream: UInt32
    public let payload: [UInt8]

    public var kind: HostilePeer.FrameType? { HostilePeer.FrameType(rawValue: type) }

    /// SETTINGS entries `(identifier, value)`.
    public var settings: [(id: UInt16, value: UInt32)] {
        stride(from: 0, to: payload.count - payload.count % 6, by: 6).map { i in
            (UInt16(payload[i]) << 8 | UInt16(payload[i + 1]), Self.u32(payload, i + 2))
        }
    }

    /// Error code of RST_STREAM / GOAWAY.
    public var errorCode: UInt32? {
        switch kind {
        case .rstStream where payload.count >= 4: Self.u32(payload, 0)
        case .goaway where payload.count >= 8: Self.u32(payload, 4)
        default: nil
        }
    }

    /// Last stream id of a GOAWAY.
    public var lastStreamID: UInt32? {
        kind == .goaway && payload.count >= 8 ? Self.u32(payload, 0) & 0x7fff_ffff : nil
    }

    /// Increment of a WINDOW_UPDATE.
    public var windowIncrement: UInt32? {
        kind == .windowUpdate && payload.count >= 4 ? Self.u32(payload, 0) & 0x7fff_ffff : nil
    }

    static func u32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }
}

/// Incremental frame reader: feed bytes as they come, take complete frames.
public struct FrameReader: Sendable {
    private var buffer: [UInt8] = []
    private var skipPreface: Bool

    /// - Parameter expectPreface: true when reading a client's output (starts with the preface).
    public init(expectPreface: Bool = false) { skipPreface = expectPreface }

    public mutating func feed(_ bytes: [UInt8]) -> [RawFrame] {
        buffer += bytes
        if skipPreface {
            guard buffer.count >= HostilePeer.preface.count else { return [] }
            buffer.removeFirst(HostilePeer.preface.count)
            skipPreface = false
        }
        var frames: [RawFrame] = []
        var i = 0
        while buffer.count - i >= 9 {
            let len = Int(buffer[i]) << 16 | Int(buffer[i + 1]) << 8 | Int(buffer[i + 2])
            guard buffer.count - i >= 9 + len else { break }
            let stream = RawFrame.u32(buffer, i + 5) & 0x7fff_ffff
            frames.append(RawFrame(type: buffer[i + 3], flags: buffer[i + 4], stream: stream,
                                   payload: Array(buffer[(i + 9)..<(i + 9 + len)])))
            i += 9 + len
        }
        buffer.removeFirst(i)
        return frames
    }
}
