/// Lowercase hex digits of bytes, two per byte from one 512-character table: the kernel's
/// ids (two per grant), its MACs and the generated dev secret all write them, and a
/// digit-at-a-time loop was ~3% of a grant.
enum LowerHex {
    /// Byte `n`'s two lowercase hex digits at offset `2 * n`.
    static let pairs: StaticString = """
        000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\
        202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\
        404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f\
        606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f\
        808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f\
        a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\
        c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf\
        e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff
        """

    /// Writes `byte`'s two digits at `out[0]` and `out[1]`.
    @inline(__always)
    static func write(_ byte: UInt8, to out: UnsafeMutablePointer<UInt8>) {
        let pair = pairs.utf8Start + 2 * Int(byte)
        out[0] = pair[0]
        out[1] = pair[1]
    }

    /// The `2 * bytes.count` digits of `bytes`.
    static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: 2 * bytes.count) { out in
            let o = out.baseAddress!
            for (i, b) in bytes.enumerated() { write(b, to: o + 2 * i) }
            return 2 * bytes.count
        }
    }
}
