import COpenSSL
import CShims

/// Parsing of PEM bytes into owned OpenSSL objects. Every function returns objects the caller
/// must free (`X509_free`, `EVP_PKEY_free`, `X509_CRL_free`); `defer` at the call site does it.
enum PEM {
    /// A read/write memory BIO holding a copy of `bytes` (copying avoids pointer-lifetime games).
    static func bio(_ bytes: [UInt8]) -> OpaquePointer? {
        guard let bio = BIO_new(BIO_s_mem()) else { return nil }
        var written = 0
        let ok = bytes.withUnsafeBytes { BIO_write_ex(bio, $0.baseAddress, $0.count, &written) }
        guard ok == 1, written == bytes.count else { BIO_free(bio); return nil }
        return bio
    }

    /// All certificates in `pem`, in order. Throws `kind` when there is none or one is corrupt.
    static func certificates(_ pem: [UInt8], kind: TLSError.Kind, what: String) throws(TLSError) -> [OpaquePointer] {
        OpenSSLErrorQueue.clear()
        guard let bio = bio(pem) else { throw TLSError.drained(.configuration, "out of memory") }
        defer { BIO_free(bio) }
        var certs: [OpaquePointer] = []
        while let cert = PEM_read_bio_X509(bio, nil, nil, nil) { certs.append(cert) }
        // The loop ends on "no start line" (clean end) or on a corrupt block: tell them apart,
        // a half-parsed bundle must not be used as if it were complete.
        if endedCleanly() == false || certs.isEmpty {
            certs.forEach { X509_free($0) }
            throw TLSError.drained(kind, "\(what): no valid PEM certificate")
        }
        OpenSSLErrorQueue.clear()
        return certs
    }

    /// The single private key in `pem`. Encrypted keys fail (the password callback refuses).
    static func privateKey(_ pem: [UInt8]) throws(TLSError) -> OpaquePointer {
        OpenSSLErrorQueue.clear()
        guard let bio = bio(pem) else { throw TLSError.drained(.configuration, "out of memory") }
        defer { BIO_free(bio) }
        // Without a callback OpenSSL would prompt on the terminal for an encrypted key.
        let refusePassword: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 = { _, _, _, _ in -1 }
        guard let key = PEM_read_bio_PrivateKey(bio, nil, refusePassword, nil) else {
            throw TLSError.drained(.invalidPrivateKey, "private key: no valid unencrypted PEM key")
        }
        return key
    }

    /// All CRLs in `pem`. Throws `.invalidCRL` when there is none or one is corrupt.
    static func crls(_ pem: [UInt8]) throws(TLSError) -> [OpaquePointer] {
        OpenSSLErrorQueue.clear()
        guard let bio = bio(pem) else { throw TLSError.drained(.configuration, "out of memory") }
        defer { BIO_free(bio) }
        var crls: [OpaquePointer] = []
        while let crl = PEM_read_bio_X509_CRL(bio, nil, nil, nil) { crls.append(crl) }
        if endedCleanly() == false || crls.isEmpty {
            crls.forEach { X509_CRL_free($0) }
            throw TLSError.drained(.invalidCRL, "CRL: no valid PEM CRL")
        }
        OpenSSLErrorQueue.clear()
        return crls
    }

    /// True when the last queued error is PEM's "no start line", i.e. the input simply ended.
    private static func endedCleanly() -> Bool {
        let err = ERR_peek_last_error()
        return err == 0 || (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE)
    }
}
