import COpenSSL
import COpenSSLShims

/// The subjectAltName extension of a certificate, read once for the PKI's SAN accessors and
/// the TLS layer's SVID rule (exactly one URI SAN).
public enum SubjectAltNames {
    /// One GENERAL_NAME: its type (`GEN_URI`, `GEN_DNS`, `GEN_IPADD`, ...) and, for URI, DNS,
    /// email and iPAddress entries, its raw bytes (nil for other types or a missing value).
    public struct Entry: Sendable, Equatable {
        public var type: Int32
        public var bytes: [UInt8]?

        public init(type: Int32, bytes: [UInt8]?) {
            self.type = type
            self.bytes = bytes
        }
    }

    /// What a certificate's subjectAltName looks like.
    public enum Lookup: Sendable, Equatable {
        /// No subjectAltName extension.
        case absent
        /// The extension occurs more than once (which one counts would be ambiguous).
        case duplicated
        /// The extension is present but does not decode.
        case undecodable
        /// The decoded entries, in certificate order.
        case entries([Entry])
    }

    /// Reads the subjectAltName of `certificate` (an `X509 *`). Leaves the error queue clear.
    public static func read(_ certificate: OpaquePointer) -> Lookup {
        var critical: Int32 = 0
        let raw = X509_get_ext_d2i(certificate, NID_subject_alt_name, &critical, nil)
        OpenSSLErrorQueue.clear()
        // critical: -1 absent, -2 the extension occurs more than once.
        if critical == -2 {
            if let raw { capgate_general_names_free(OpaquePointer(raw)) }
            return .duplicated
        }
        guard let raw else { return critical >= 0 ? .undecodable : .absent }
        let names = OpaquePointer(raw)
        defer { capgate_general_names_free(names) }
        var out: [Entry] = []
        for i in 0..<capgate_general_names_count(names) {
            guard let name = capgate_general_names_at(names, i) else { continue }
            var data: UnsafePointer<UInt8>?
            let length = capgate_general_name_bytes(name, &data)
            let bytes = (length >= 0 && data != nil) ? Array(UnsafeBufferPointer(start: data, count: Int(length))) : nil
            out.append(Entry(type: capgate_general_name_type(name), bytes: bytes))
        }
        return .entries(out)
    }
}
