import COpenSSL

/// DER decoding of certificates.
public enum DER {
    /// Parses exactly one DER certificate: trailing bytes are refused (`.trailingData`), so
    /// nothing can be smuggled behind the object that was checked.
    public static func certificate(_ der: [UInt8]) throws(X509Error) -> OwnedX509 {
        OpenSSLErrorQueue.clear()
        guard !der.isEmpty else { throw X509Error(.malformed, operation: "d2i_X509") }
        let parsed: (OpaquePointer?, Int) = der.withUnsafeBufferPointer { buf in
            var cursor: UnsafePointer<UInt8>? = buf.baseAddress
            let cert = d2i_X509(nil, &cursor, buf.count)
            return (cert, cursor.map { $0 - buf.baseAddress! } ?? 0)
        }
        guard let raw = parsed.0 else { throw .drained(.malformed, "d2i_X509") }
        let cert = OwnedX509(owning: raw)
        guard parsed.1 == der.count else { throw X509Error(.trailingData, operation: "d2i_X509") }
        return cert
    }
}
