import CapgateTesting
import CNghttp2

/// Decodes the server's HEADERS blocks with nghttp2's inflater (tests only). Frames must be
/// decoded once each, in wire order, as the dynamic table evolves.
final class HPACKDecoder {
    private var inflater: OpaquePointer?

    init() { nghttp2_hd_inflate_new(&inflater) }
    deinit { nghttp2_hd_inflate_del(inflater) }

    func decode(_ frame: RawFrame) -> [(String, String)] {
        var fields: [(String, String)] = []
        var input = frame.payload
        // Strip padding/priority (server never sends them, but be safe).
        if frame.flags & 0x8 != 0, let pad = input.first { input = Array(input.dropFirst().dropLast(Int(pad))) }
        if frame.flags & 0x20 != 0 { input = Array(input.dropFirst(5)) }
        input.withUnsafeBufferPointer { buf in
            var offset = 0
            while true {
                var nv = nghttp2_nv()
                var flags: Int32 = 0
                let rv = nghttp2_hd_inflate_hd2(inflater, &nv, &flags, buf.baseAddress! + offset,
                                                buf.count - offset, 1)
                if rv < 0 { return }
                offset += rv
                if flags & Int32(NGHTTP2_HD_INFLATE_EMIT.rawValue) != 0 {
                    fields.append((String(decoding: UnsafeBufferPointer(start: nv.name, count: nv.namelen), as: UTF8.self),
                                   String(decoding: UnsafeBufferPointer(start: nv.value, count: nv.valuelen), as: UTF8.self)))
                }
                if flags & Int32(NGHTTP2_HD_INFLATE_FINAL.rawValue) != 0 {
                    nghttp2_hd_inflate_end_headers(inflater)
                    return
                }
                if flags & Int32(NGHTTP2_HD_INFLATE_EMIT.rawValue) == 0 && offset >= buf.count { return }
            }
        }
        return fields
    }
}
