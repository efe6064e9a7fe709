import COpenSSL
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ASN.1 times (certificate validity, CRL updates, revocation dates) as Unix seconds.
public enum ASN1Time {
    /// `ASN1_TIME` -> Unix seconds (UTC), via broken-down time so UTCTime and GeneralizedTime
    /// (RFC 5280 section 4.1.2.5) convert the same way. Nil when absent or unreadable.
    public static func unixSeconds(_ time: UnsafePointer<ASN1_TIME>?) -> Int64? {
        guard let time else { return nil }
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
        return Int64(timegm(&parts))
    }
}
