/// A hostile-peer frame builder (Envoy habit): writes raw HTTP/2 frames byte by byte, so tests
/// can send what no well-behaved client library would (floods, empty frames, CONTINUATION
/// chains, resets right after HEADERS). RFC 9113 §4.1 frame layout; nothing is validated.
public enum HostilePeer {
    /// RFC 9113 §3.4 client connection preface.
    public static let preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    public enum FrameType: UInt8, Sendable {
        case data = 0, headers, priority, rstStream, settings, pushPromise, ping, goaway,
             windowUpdate, continuation
    }

    public static let endStream: UInt8 = 0x1
    public static let ack: UInt8 = 0x1
    public static let endHeaders: UInt8 = 0x4
    public static let padded: UInt8 = 0x8

    /// One frame: 24-bit length, type, flags, 31-bit stream id, payload.
    public static func frame(_ type: FrameType, flags: UInt8 = 0, stream: UInt32 = 0,
                             payload: [UInt8] = []) -> [UInt8] {
        frame(rawType: type.rawValue, flags: flags, stream: stream, payload: payload)
    }

    public static func frame(rawType: UInt8, flags: UInt8, stream: UInt32, payload: [UInt8]) -> [UInt8] {
        let n = payload.count
        var out: [UInt8] = [UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff), rawType, flags]
        out += be32(stream & 0x7fff_ffff)
        return out + payload
    }

    /// SETTINGS with `(identifier, value)` entries, or an empty ACK.
    public static func settings(_ entries: [(UInt16, UInt32)] = [], ack: Bool = false) -> [UInt8] {
        var payload: [UInt8] = []
        for (id, value) in entries { payload += be16(id) + be32(value) }
        return frame(.settings, flags: ack ? Self.ack : 0, payload: payload)
    }

    /// Preface plus an empty SETTINGS: the minimum a client must send first.
    public static func handshake(settings entries: [(UInt16, UInt32)] = []) -> [UInt8] {
        preface + settings(entries)
    }

    public static func headers(stream: UInt32, block: [UInt8], endStream: Bool = false,
                               endHeaders: Bool = true) -> [UInt8] {
        let flags = (endStream ? Self.endStream : 0) | (endHeaders ? Self.endHeaders : 0)
        return frame(.headers, flags: flags, stream: stream, payload: block)
    }

    public static func continuation(stream: UInt32, block: [UInt8], endHeaders: Bool = false) -> [UInt8] {
        frame(.continuation, flags: endHeaders ? Self.endHeaders : 0, stream: stream, payload: block)
    }

    public static func data(stream: UInt32, _ payload: [UInt8], endStream: Bool = false) -> [UInt8] {
        frame(.data, flags: endStream ? Self.endStream : 0, stream: stream, payload: payload)
    }

    public static func rstStream(stream: UInt32, code: UInt32 = 0x8) -> [UInt8] {
        frame(.rstStream, stream: stream, payload: be32(code))
    }

    public static func ping(_ opaque: UInt64 = 0, ack: Bool = false) -> [UInt8] {
        frame(.ping, flags: ack ? Self.ack : 0, payload: be32(UInt32(opaque >> 32)) + be32(UInt32(opaque & 0xffff_ffff)))
    }

    public static func windowUpdate(stream: UInt32 = 0, increment: UInt32) -> [UInt8] {
        frame(.windowUpdate, stream: stream, payload: be32(increment & 0x7fff_ffff))
    }

    public static func goaway(lastStream: UInt32, code: UInt32 = 0) -> [UInt8] {
        frame(.goaway, payload: be32(lastStream) + be32(code))
    }

    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
    }
}
