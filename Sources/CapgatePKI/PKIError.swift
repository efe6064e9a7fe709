import CapgateX509

/// Every failure of the PKI library. Typed so the CLI can map each case to one clear message
/// and exit code, and so tests can assert the exact refusal. No case ever carries key material:
/// OpenSSL's error queue holds library/reason strings and file names only.
public enum PKIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An OpenSSL call failed; `details` is the drained error queue of this thread.
    case openssl(operation: String, details: String)
    /// An input (name, trust domain, DNS name, IP address, validity...) was rejected before
    /// any certificate was built: fail closed instead of issuing something surprising.
    case invalidInput(field: String, reason: String)
    /// A file-system call failed (`errno` is the C errno).
    case io(operation: String, path: String, errno: Int32)
    /// `initCA` (or another create-only operation) found the file already there.
    case alreadyExists(path: String)
    /// A file the operation needs is missing (for example the CA before issuing).
    case notFound(path: String)
    /// `revoke(agent:)` / `revoke(serial:)` matched nothing in the index.
    case unknownCertificate(String)
    /// A private key file is readable or writable by group/others (`mode` = permission bits).
    case insecurePermissions(path: String, mode: UInt32)
    /// A stored certificate and key do not belong together.
    case keyMismatch(path: String)
    /// The directory's CA belongs to another trust domain than the caller asked for.
    case trustDomainMismatch(expected: String, found: String)
    /// `index.json` could not be read back.
    case corruptIndex(reason: String)
    /// `X509_verify_cert` (or CRL signature check) refused; `code` is the X509_V_ERR value.
    case verificationFailed(code: Int32, reason: String)

    public var description: String {
        switch self {
        case .openssl(let op, let details): return "OpenSSL \(op) failed: \(details)"
        case .invalidInput(let field, let reason): return "invalid \(field): \(reason)"
        case .io(let op, let path, let errno): return "\(op) \(path): errno \(errno)"
        case .alreadyExists(let path): return "\(path) already exists (refusing to overwrite)"
        case .notFound(let path): return "\(path) not found"
        case .unknownCertificate(let what): return "no issued certificate matches \(what)"
        case .insecurePermissions(let path, let mode):
            return "\(path) has mode 0\(String(mode, radix: 8)); private keys must be 0600"
        case .keyMismatch(let path): return "certificate and private key do not match (\(path))"
        case .trustDomainMismatch(let expected, let found):
            return "trust domain mismatch: expected \(expected), CA has \(found)"
        case .corruptIndex(let reason): return "corrupt PKI index: \(reason)"
        case .verificationFailed(let code, let reason): return "verification failed (\(code)): \(reason)"
        }
    }
}

extension PKIError {
    /// The PKI's wording of an X.509-layer failure: the failed OpenSSL call and the drained
    /// queue with its data fields (operators need the file name or "Expecting: ..." text).
    init(_ error: X509Error) {
        switch error.kind {
        case .inputTooLarge: self = .invalidInput(field: "PEM/DER input", reason: "too large")
        default: self = .openssl(operation: error.operation, details: error.openSSLErrors.detailLine)
        }
    }
}

/// Builds the `.openssl` error for `operation` with this thread's error queue, drained into
/// one line with the data fields (`OpenSSLErrors.detailLine`).
func opensslError(_ operation: String) -> PKIError {
    .openssl(operation: operation, details: OpenSSLErrorQueue.drain().detailLine)
}

/// Throws `.openssl` unless `ok == 1` (OpenSSL's success convention).
func check(_ ok: Int32, _ operation: String) throws(PKIError) {
    if ok != 1 { throw opensslError(operation) }
}

/// Unwraps an OpenSSL allocation/constructor result or throws with the queue text.
func require<T>(_ value: T?, _ operation: String) throws(PKIError) -> T {
    guard let value else { throw opensslError(operation) }
    return value
}
