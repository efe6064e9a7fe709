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
