/// The one error type of the X.509 layer. The layers above map it to their own error
/// (`TLSError`, `PKIError`) with their own wording; this type says what went wrong and carries
/// the drained OpenSSL queue, so no layer drains it a second time.
public struct X509Error: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The input is larger than a memory BIO can hold (never legitimate for PEM/DER).
        case inputTooLarge
        /// A PEM input held no object of the wanted type.
        case noObject
        /// A PEM block or DER object is corrupt.
        case malformed
        /// A DER object was followed by more bytes (one object, nothing smuggled behind it).
        case trailingData
        /// An OpenSSL call failed (allocation, encoding).
        case failed
    }

    public let kind: Kind
    /// The OpenSSL call that failed ("PEM_read_bio_X509", "BIO_new_mem_buf", ...).
    public let operation: String
    /// The error queue drained at the failure.
    public let openSSLErrors: OpenSSLErrors

    public init(_ kind: Kind, operation: String, openSSLErrors: OpenSSLErrors = OpenSSLErrors()) {
        self.kind = kind
        self.operation = operation
        self.openSSLErrors = openSSLErrors
    }

    /// Builds an error and drains this thread's OpenSSL error queue into it.
    public static func drained(_ kind: Kind, _ operation: String) -> X509Error {
        X509Error(kind, operation: operation, openSSLErrors: OpenSSLErrorQueue.drain())
    }

    public var description: String { "\(operation) failed (\(kind)): \(openSSLErrors.detailLine)" }
}
