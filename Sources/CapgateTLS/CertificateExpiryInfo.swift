import CapgateX509
import COpenSSL

/// The expiry of one CA of the trust bundle, for the certificate-expiry metrics
/// (docs/operations.md): its subject common name (or, without one, its serial) as the label,
/// and notAfter in Unix seconds. The bundle is the operator's, so the set is bounded.
public struct TrustAnchorExpiry: Sendable, Equatable {
    public var name: String
    public var notAfter: Int64

    /// Parses DER certificates; unreadable ones are skipped (the context already validated them).
    public static func of(anchorsDER: [[UInt8]]) -> [TrustAnchorExpiry] {
        anchorsDER.compactMap { der -> TrustAnchorExpiry? in
            let cert: OpaquePointer? = der.withUnsafeBufferPointer { buf in
                var p: UnsafePointer<UInt8>? = buf.baseAddress
                return d2i_X509(nil, &p, buf.count)
            }
            guard let cert else { return nil }
            defer { X509_free(cert) }
            guard let notAfter = ASN1Time.unixSeconds(X509_get0_notAfter(cert)) else { return nil }
            var buffer = [CChar](repeating: 0, count: 256)
            let n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, &buffer, Int32(buffer.count))
            let cn = n > 0 ? String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
            let name = cn.isEmpty ? (SerialNumber.hex(X509_get0_serialNumber(cert)) ?? "unknown") : cn
            return TrustAnchorExpiry(name: name, notAfter: notAfter)
        }
    }
}

extension CertificateReloader {
    /// The CAs of the current trust bundle with their notAfter.
    public var trustAnchorExpiries: [TrustAnchorExpiry] { TrustAnchorExpiry.of(anchorsDER: current.trustAnchorsDER) }
}
