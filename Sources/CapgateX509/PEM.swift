import COpenSSL

/// PEM reading and writing of certificates, CRLs and private keys: the one PEM codec of TLS and
/// PKI. Readers return owned objects; writers return the PEM bytes.
///
/// Bundles (``certificates(_:)``, ``crls(_:)``) are read strictly: the input must end cleanly
/// after the last block, because a half-parsed bundle used as if it were complete would silently
/// drop trust anchors or revocations.
public enum PEM {
    /// No passphrase prompt, ever: OpenSSL would otherwise ask on the terminal for an encrypted
    /// block, which would hang an unattended gateway. An encrypted key therefore fails to load.
    private static let refusePassword: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32,
                                                         UnsafeMutableRawPointer?) -> Int32 = { _, _, _, _ in -1 }

    // MARK: reading

    /// Every certificate in `pem`, in order. Throws `.noObject` when there is none and
    /// `.malformed` when a block is corrupt.
    public static func certificates(_ pem: [UInt8]) throws(X509Error) -> [OwnedX509] {
        try all(pem, operation: "PEM_read_bio_X509") { PEM_read_bio_X509($0, nil, refusePassword, nil) }
    }

    /// Every CRL in `pem`, in order (same rules as ``certificates(_:)``).
    public static func crls(_ pem: [UInt8]) throws(X509Error) -> [OwnedCRL] {
        try all(pem, operation: "PEM_read_bio_X509_CRL") { PEM_read_bio_X509_CRL($0, nil, refusePassword, nil) }
    }

    /// The first certificate of `pem` (a chain file read for its leaf).
    public static func firstCertificate(_ pem: [UInt8]) throws(X509Error) -> OwnedX509 {
        let cert = try MemoryBIO.reading(pem) { PEM_read_bio_X509($0, nil, refusePassword, nil) }
        guard let cert else { throw .drained(.malformed, "PEM_read_bio_X509") }
        return OwnedX509(owning: cert)
    }

    /// The first CRL of `pem`.
    public static func firstCRL(_ pem: [UInt8]) throws(X509Error) -> OwnedCRL {
        let crl = try MemoryBIO.reading(pem) { PEM_read_bio_X509_CRL($0, nil, refusePassword, nil) }
        guard let crl else { throw .drained(.malformed, "PEM_read_bio_X509_CRL") }
        return OwnedCRL(owning: crl)
    }

    /// The private key of `pem` (PKCS#8 "PRIVATE KEY" or a traditional form such as
    /// "EC PRIVATE KEY"). Encrypted keys fail: the passphrase callback refuses.
    public static func privateKey(_ pem: [UInt8]) throws(X509Error) -> OwnedPrivateKey {
        let key = try MemoryBIO.reading(pem) { PEM_read_bio_PrivateKey($0, nil, refusePassword, nil) }
        guard let key else { throw .drained(.malformed, "PEM_read_bio_PrivateKey") }
        return OwnedPrivateKey(owning: key)
    }

    /// Reads objects until the input ends; refuses a corrupt block and an empty input. Each
    /// object is owned as soon as it is read, so the refusal paths free what was parsed.
    private static func all<K: OpenSSLObjectKind>(_ pem: [UInt8], operation: String,
                                                  _ read: (OpaquePointer) -> OpaquePointer?) throws(X509Error) -> [OpenSSLObject<K>] {
        let (objects, clean): ([OpenSSLObject<K>], Bool) = try MemoryBIO.reading(pem) { bio in
            var out: [OpenSSLObject<K>] = []
            while let object = read(bio) { out.append(OpenSSLObject(owning: object)) }
            // The loop ends on "no start line" (clean end) or on a corrupt block: tell them apart.
            return (out, endedCleanly())
        }
        guard clean, !objects.isEmpty else { throw .drained(clean ? .noObject : .malformed, operation) }
        OpenSSLErrorQueue.clear()
        return objects
    }

    /// True when the last queued error is PEM's "no start line", i.e. the input simply ended.
    private static func endedCleanly() -> Bool {
        let err = ERR_peek_last_error()
        return err == 0 || (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE)
    }

    // MARK: writing

    /// "-----BEGIN CERTIFICATE-----" text of `certificate` (an `X509 *`).
    public static func encode(certificate: OpaquePointer) throws(X509Error) -> [UInt8] {
        try MemoryBIO.collecting("PEM_write_bio_X509") { PEM_write_bio_X509($0, certificate) }
    }

    /// "-----BEGIN X509 CRL-----" text of `crl` (an `X509_CRL *`).
    public static func encode(crl: OpaquePointer) throws(X509Error) -> [UInt8] {
        try MemoryBIO.collecting("PEM_write_bio_X509_CRL") { PEM_write_bio_X509_CRL($0, crl) }
    }

    /// Unencrypted PKCS#8 PEM of `privateKey`. Secret: write only to a 0600 file, never log.
    public static func encode(privateKey: OpaquePointer) throws(X509Error) -> [UInt8] {
        try MemoryBIO.collecting("PEM_write_bio_PrivateKey") {
            PEM_write_bio_PrivateKey($0, privateKey, nil, nil, 0, nil, nil)
        }
    }

    /// SubjectPublicKeyInfo PEM of `key`'s public half.
    public static func encode(publicKeyOf key: OpaquePointer) throws(X509Error) -> [UInt8] {
        try MemoryBIO.collecting("PEM_write_bio_PUBKEY") { PEM_write_bio_PUBKEY($0, key) }
    }
}
