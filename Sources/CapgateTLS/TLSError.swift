import CapgateX509

/// The one error type of the TLS layer.
///
/// WHY a struct with a `Kind`: callers switch on `kind` (stable `code` strings for logs and
/// metrics) while operators still get OpenSSL's own diagnosis in `openSSLErrors`. The queue text
/// carries library/reason strings only (never the error "data" field, never key material), so it
/// is safe to log.
public struct TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What failed. `rawValue` is a stable code for logs and metrics.
    public enum Kind: String, Sendable, Equatable {
        /// A PEM file could not be read (missing, unreadable, too large).
        case fileUnreadable = "tls_file_unreadable"
        /// The certificate chain PEM had no certificate or could not be parsed.
        case invalidCertificate = "tls_invalid_certificate"
        /// The private key PEM could not be parsed (encrypted keys are refused: no prompt).
        case invalidPrivateKey = "tls_invalid_private_key"
        /// The private key does not belong to the leaf certificate.
        case keyMismatch = "tls_key_mismatch"
        /// The trust bundle had no certificate or could not be parsed.
        case invalidTrustBundle = "tls_invalid_trust_bundle"
        /// The CRL file had no CRL or could not be parsed.
        case invalidCRL = "tls_invalid_crl"
        /// A certificate or CRL is outside its validity window (reload validation).
        case expired = "tls_expired"
        /// OpenSSL refused a context or connection setting.
        case configuration = "tls_configuration"
        /// The handshake failed (protocol, alert from the peer, ALPN).
        case handshakeFailed = "tls_handshake_failed"
        /// The peer's certificate chain did not verify (unknown CA, expired, revoked, purpose).
        case peerVerificationFailed = "tls_peer_verification_failed"
        /// No `h2` was negotiated (RFC 7301; RFC 9113 section 3.2 requires it over TLS).
        case alpnMismatch = "tls_alpn_mismatch"
        /// A fatal error on an established connection (bad record MAC, decode error...).
        case protocolError = "tls_protocol_error"
    }

    /// What failed.
    public let kind: Kind
    /// Our own one-line explanation.
    public let message: String
    /// OpenSSL's error queue at the time of failure, oldest first (reason strings only).
    public let openSSLErrors: [String]

    public init(_ kind: Kind, _ message: String, openSSLErrors: [String] = []) {
        self.kind = kind
        self.message = message
        self.openSSLErrors = openSSLErrors
    }

    /// Stable code for logs and metrics.
    public var code: String { kind.rawValue }

    public var description: String {
        openSSLErrors.isEmpty
            ? "\(code): \(message)"
            : "\(code): \(message) [\(openSSLErrors.joined(separator: "; "))]"
    }

    /// Builds an error and drains this thread's OpenSSL error queue into it.
    static func drained(_ kind: Kind, _ message: String) -> TLSError {
        TLSError(kind, message, openSSLErrors: OpenSSLErrorQueue.drain().reasons)
    }

    /// TLS wording of an X.509-layer read failure: `kind` and `message`, with OpenSSL's
    /// reasons only (the data field never reaches a log). A failed allocation is a
    /// configuration error ("out of memory"), whatever was being read.
    init(_ kind: Kind, _ message: String, reading error: X509Error) {
        if error.kind == .failed {
            self.init(.configuration, "out of memory", openSSLErrors: error.openSSLErrors.reasons)
        } else {
            self.init(kind, message, openSSLErrors: error.openSSLErrors.reasons)
        }
    }
}
