import CLibcShims

/// `printf`-style fixed formatting stays in the kernel: it goes through the C library
/// (CLibcShims), and `CapgateFormats` has no C dependencies.
extension PyFloat {
    /// C/Python `"%.2f" % v` (correctly rounded from the exact binary value).
    public static func fixed2(_ d: Double) -> String {
        fixed(d, places: 2)
    }

    /// `"%.Nf"`; uses the C library, whose rounding matches CPython's.
    public static func fixed(_ d: Double, places: Int) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        // An integral value below 2^53 prints exactly as its integer and zero decimals
        // (ids and counts in row summaries), without a trip through snprintf. -0.0 keeps
        // its sign in C ("-0.00"), so it takes the C path.
        if d == d.rounded(.towardZero) && abs(d) < 9_007_199_254_740_992 && !(d == 0 && d.sign == .minus) {
            let digits = String(Int64(d))
            return places > 0 ? digits + "." + String(repeating: "0", count: places) : digits
        }
        return cFormat(d, places: places)
    }

    /// `"%.2f" % v` appended to `out`: a row summary's numeric fact is built in one buffer,
    /// and an integral value's digits go straight into it (no String per number). Same
    /// text as `fixed2`.
    static func appendFixed2(_ d: Double, to out: inout String) {
        guard isIntegralFixed2(d) else {
            out += fixed(d, places: 2)  // NaN, infinities, fractions and -0.0: the general path
            return
        }
        // At most 16 digits below 2^53, a sign and ".00": 19 bytes.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buf in
            let n = writeIntegralFixed2(d, to: buf.baseAddress!)
            out += String(decoding: UnsafeBufferPointer(start: buf.baseAddress!, count: n), as: UTF8.self)
        }
    }

    /// Whether `d` takes the integral fast path of `appendFixed2` / `writeIntegralFixed2`:
    /// a whole number below 2^53 in magnitude, not -0.0 (NaN and infinities fail the test).
    @inline(__always)
    static func isIntegralFixed2(_ d: Double) -> Bool {
        d == d.rounded(.towardZero) && abs(d) < 9_007_199_254_740_992 && !(d == 0 && d.sign == .minus)
    }

    /// Writes `"%.2f" % d` for a `d` that `isIntegralFixed2` accepted at `out` (room for
    /// 20 bytes); returns the byte count.
    static func writeIntegralFixed2(_ d: Double, to out: UnsafeMutablePointer<UInt8>) -> Int {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buf in
            var end = buf.count
            buf[end - 1] = 0x30; buf[end - 2] = 0x30; buf[end - 3] = 0x2E  // ".00"
            end -= 3
            var m = Int64(d).magnitude
            repeat {
                end -= 1
                buf[end] = 0x30 &+ UInt8(truncatingIfNeeded: m % 10)
                m /= 10
            } while m > 0
            if d < 0 { end -= 1; buf[end] = 0x2D }
            let n = buf.count - end
            out.update(from: buf.baseAddress! + end, count: n)
            return n
        }
    }
}

private func cFormat(_ d: Double, places: Int) -> String {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: 48) { buf in
        let n = Int(capgate_format_fixed(buf.baseAddress!, 48, Int32(places), d))
        if n < 48 { return String(cString: buf.baseAddress!) }
        var big = [CChar](repeating: 0, count: n + 1)
        _ = capgate_format_fixed(&big, big.count, Int32(places), d)
        return String(cString: big)
    }
}
