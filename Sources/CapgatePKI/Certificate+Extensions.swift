import CapgateX509
import COpenSSL

/// The v3 extensions of a certificate, parsed back with OpenSSL. Lets tests (and the gateway's
/// identity checks) assert the exact profile instead of trusting the issuing code.
public struct CertificateExtensions: Sendable, Equatable {
    /// basicConstraints as found (RFC 5280 section 4.2.1.9).
    public struct BasicConstraints: Sendable, Equatable {
        public var critical: Bool
        public var isCA: Bool
        public var pathLength: Int?
    }

    /// Every extension's short name ("basicConstraints", "subjectAltName"...) or dotted OID
    /// when OpenSSL has no name, in certificate order. Duplicates show up twice.
    public var names: [String] = []
    /// Names of the extensions marked critical.
    public var criticalNames: Set<String> = []
    public var basicConstraints: BasicConstraints?
    /// keyUsage bits, nil when the extension is absent.
    public var keyUsage: KeyUsage?
    /// extendedKeyUsage short names ("clientAuth") or OIDs, nil when absent.
    public var extendedKeyUsage: [String]?
    public var subjectKeyIdentifier: [UInt8]?
    /// The keyIdentifier field of authorityKeyIdentifier.
    public var authorityKeyIdentifier: [UInt8]?

    /// True when the named extension is present and critical.
    public func isCritical(_ name: String) -> Bool { criticalNames.contains(name) }
}

extension Certificate {
    /// Parses all v3 extensions (see `CertificateExtensions`).
    public var extensions: CertificateExtensions {
        var out = CertificateExtensions()
        for i in 0..<X509_get_ext_count(pointer) {
            guard let ext = X509_get_ext(pointer, i) else { continue }
            let name = Self.objectName(X509_EXTENSION_get_object(ext))
            out.names.append(name)
            if X509_EXTENSION_get_critical(ext) != 0 { out.criticalNames.insert(name) }
        }
        var critical: Int32 = -1
        if let raw = X509_get_ext_d2i(pointer, NID_basic_constraints, &critical, nil) {
            let bc = raw.assumingMemoryBound(to: BASIC_CONSTRAINTS.self)
            let pathLength = bc.pointee.pathlen.map { Int(ASN1_INTEGER_get($0)) }
            out.basicConstraints = .init(critical: critical == 1, isCA: bc.pointee.ca != 0, pathLength: pathLength)
            BASIC_CONSTRAINTS_free(bc)
        }
        if out.names.contains("keyUsage") {
            out.keyUsage = KeyUsage(rawValue: X509_get_key_usage(pointer) & 0xFFFF)
        }
        if let raw = X509_get_ext_d2i(pointer, NID_ext_key_usage, nil, nil) {
            let stack = OpaquePointer(raw)
            var purposes: [String] = []
            for j in 0..<OPENSSL_sk_num(stack) {
                purposes.append(Self.objectName(OpaquePointer(OPENSSL_sk_value(stack, j))))
            }
            out.extendedKeyUsage = purposes
            EXTENDED_KEY_USAGE_free(stack)
        }
        out.subjectKeyIdentifier = Self.octets(X509_get0_subject_key_id(pointer))
        out.authorityKeyIdentifier = Self.octets(X509_get0_authority_key_id(pointer))
        OpenSSLErrorQueue.clear()  // absent extensions leave nothing worth reporting
        return out
    }

    /// OpenSSL short name of an OID, or its dotted form when unnamed.
    static func objectName(_ object: OpaquePointer?) -> String {
        guard let object else { return "" }
        let nid = OBJ_obj2nid(object)
        if nid != NID_undef, let sn = OBJ_nid2sn(nid) { return cString(sn) }
        var buf = [CChar](repeating: 0, count: 128)
        _ = OBJ_obj2txt(&buf, Int32(buf.count), object, 1)
        return cString(buf)
    }

    static func octets(_ s: UnsafePointer<ASN1_OCTET_STRING>?) -> [UInt8]? {
        guard let s, let data = ASN1_STRING_get0_data(s) else { return nil }
        return Array(UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(s))))
    }
}
