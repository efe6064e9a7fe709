import CapgateX509
import COpenSSL

extension Certificate {
    /// The TLS role a chain is checked for (OpenSSL X509_PURPOSE, which enforces EKU and the
    /// Netscape/keyUsage compatibility rules for that role).
    public enum Purpose: Sendable {
        case tlsClient
        case tlsServer
        /// No purpose check: signature, validity and constraints only.
        case any
    }

    /// Verifies this certificate with OpenSSL's `X509_verify_cert` against `trustAnchors`
    /// (and, when `revocationLists` is non-empty, with CRL checking of the leaf). `time` fixes
    /// the verification instant (Unix seconds) so tests never depend on the wall clock.
    /// Throws `.verificationFailed` with OpenSSL's X509_V_ERR code and text.
    public func verify(trustAnchors: [Certificate], revocationLists: [RevocationList] = [],
                       at time: Int64? = nil, purpose: Purpose = .any) throws(PKIError) {
        OpenSSLErrorQueue.clear()
        let store = try require(X509_STORE_new(), "X509_STORE_new")
        defer { X509_STORE_free(store) }
        for anchor in trustAnchors { try check(X509_STORE_add_cert(store, anchor.pointer), "X509_STORE_add_cert") }
        for crl in revocationLists { try check(X509_STORE_add_crl(store, crl.pointer), "X509_STORE_add_crl") }
        if !revocationLists.isEmpty {
            // Fail closed: with CRL checking on, a missing CRL for the issuer is an error too.
            try check(X509_STORE_set_flags(store, UInt(X509_V_FLAG_CRL_CHECK)), "X509_STORE_set_flags")
        }
        let ctx = try require(X509_STORE_CTX_new(), "X509_STORE_CTX_new")
        defer { X509_STORE_CTX_free(ctx) }
        try check(X509_STORE_CTX_init(ctx, store, pointer, nil), "X509_STORE_CTX_init")
        if let time { X509_STORE_CTX_set_time(ctx, 0, time_t(time)) }
        switch purpose {
        case .tlsClient: try check(X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT), "X509_STORE_CTX_set_purpose")
        case .tlsServer: try check(X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER), "X509_STORE_CTX_set_purpose")
        case .any: break
        }
        if X509_verify_cert(ctx) != 1 {
            let code = X509_STORE_CTX_get_error(ctx)
            let reason = X509_verify_cert_error_string(Int(code)).map { cString($0) } ?? "unknown"
            OpenSSLErrorQueue.clear()
            throw .verificationFailed(code: code, reason: reason)
        }
    }
}
