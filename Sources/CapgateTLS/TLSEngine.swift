import CapgateX509
import COpenSSL
import COpenSSLShims

/// One TLS connection, sans-IO: ciphertext goes in with ``feed(ciphertext:)`` and comes out of
/// ``drainCiphertext(into:)``; plaintext goes through ``readPlaintext(into:)`` and
/// ``writePlaintext(_:)``. The IO layer owns the socket; unit tests and fuzzers shuttle bytes.
///
/// Not thread-safe and deliberately not `Sendable`: confine each engine to the event loop that
/// owns its connection. After EVERY call, drain the ciphertext (handshake messages, alerts,
/// close_notify and KeyUpdate replies are produced by reads too).
public final class TLSEngine {
    /// Outcome of a handshake step.
    public enum HandshakeResult: Sendable, Equatable {
        /// The handshake is complete (and, on the server, the client certificate verified and
        /// `h2` negotiated).
        case done
        /// Feed more ciphertext (after draining what the engine produced).
        case wantIO
        /// Fatal. Drain and send the pending ciphertext (it carries the alert), then close.
        case failed(TLSError)
    }

    /// Outcome of a plaintext read.
    public enum ReadResult: Sendable, Equatable {
        /// This many bytes were written to the buffer (> 0).
        case bytes(Int)
        /// No complete record yet: feed more ciphertext.
        case wantRead
        /// The peer closed (close_notify, or TCP EOF after ``markEndOfInput()``).
        case closed
        /// Fatal; see ``HandshakeResult/failed(_:)`` for what to do.
        case error(TLSError)
    }

    let ssl: OpaquePointer  // internal for white-box tests (session resumability)
    /// network -> SSL. Owned by `ssl` (SSL_set_bio transferred it). Replaced by
    /// ``releaseIdleBuffers()``.
    private var networkIn: OpaquePointer
    /// SSL -> network. Owned by `ssl`.
    private var networkOut: OpaquePointer
    /// ``markEndOfInput()`` was called: the input BIO carries that flag, so it is never replaced.
    private var inputEnded = false
    /// Which side this engine plays.
    public let role: TLSContext.Role
    private let requiredALPN: String?
    private let alpnMayBeAbsent: Bool
    /// The context's trust-domain binding (server), checked by ``peerIdentity()``.
    private let trustBinding: TrustDomainBinding?
    private var handshakeDone = false
    /// Set on the first fatal error; afterwards every call fails fast with it (OpenSSL forbids
    /// `SSL_shutdown` and further I/O after a fatal error).
    private var fatal: TLSError?

    init(context: TLSContext) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        guard let ssl = SSL_new(context.ctx) else { throw TLSError.drained(.configuration, "SSL_new failed") }
        guard let rbio = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSError.drained(.configuration, "BIO_new failed")
        }
        guard let wbio = BIO_new(BIO_s_mem()) else {
            BIO_free(rbio)
            SSL_free(ssl)
            throw TLSError.drained(.configuration, "BIO_new failed")
        }
        SSL_set_bio(ssl, rbio, wbio)
        self.ssl = ssl
        self.networkIn = rbio
        self.networkOut = wbio
        self.role = context.role
        self.requiredALPN = context.requiredALPN
        self.alpnMayBeAbsent = context.alpnMayBeAbsent
        self.trustBinding = context.trustBinding
        switch context.role {
        case .server:
            SSL_set_accept_state(ssl)
        case .client:
            if let name = context.serverName, !context.serverNameIsIP {
                guard capgate_ssl_set_tlsext_host_name(ssl, name) == 1 else {
                    throw TLSError.drained(.configuration, "cannot set SNI \(name)")
                }
            }
            SSL_set_connect_state(ssl)
        }
    }

    deinit { SSL_free(ssl) }

    // MARK: - Ciphertext side

    /// Hands bytes received from the socket to TLS. They are buffered; nothing is decrypted
    /// until ``handshake()`` or ``readPlaintext(into:)``.
    public func feed(ciphertext: UnsafeRawBufferPointer) throws(TLSError) {
        guard let base = ciphertext.baseAddress, ciphertext.count > 0 else { return }
        OpenSSLErrorQueue.clear()
        var written = 0
        guard BIO_write_ex(networkIn, base, ciphertext.count, &written) == 1, written == ciphertext.count else {
            throw fail(TLSError.drained(.configuration, "cannot buffer ciphertext"))
        }
    }

    /// Convenience for ``feed(ciphertext:)`` with an array.
    public func feed(_ ciphertext: [UInt8]) throws(TLSError) {
        var result: TLSError?
        ciphertext.withUnsafeBytes { raw in
            do throws(TLSError) { try feed(ciphertext: raw) } catch { result = error }
        }
        if let result { throw result }
    }

    /// The peer closed its side of TCP: once buffered ciphertext is consumed, reads report
    /// ``ReadResult/closed`` instead of ``ReadResult/wantRead``.
    public func markEndOfInput() {
        inputEnded = true
        _ = capgate_bio_set_mem_eof_return(networkIn, 0)
    }

    /// Bytes the two memory BIOs hold allocated (tests, and the idle-memory decision).
    public var bufferedCapacity: Int { capgate_bio_mem_capacity(networkIn) + capgate_bio_mem_capacity(networkOut) }

    /// Frees the memory BIOs' buffers when both are empty and together hold more than
    /// `threshold` bytes, by swapping in fresh BIOs. Returns whether it did.
    ///
    /// Why: a memory BIO grows to the largest burst it ever held (a 64 KiB read, a 31 KB
    /// frame) and never shrinks, so an idle connection kept that much for its whole life
    /// (docs/benchmarks.md, idle connections). OpenSSL's own record buffers are released by
    /// SSL_MODE_RELEASE_BUFFERS (TLSContext); these are ours. Swapping is safe only while both
    /// BIOs are empty (nothing buffered to lose) and before the end of input was marked (that
    /// flag lives on the old input BIO).
    @discardableResult
    public func releaseIdleBuffers(above threshold: Int) -> Bool {
        guard fatal == nil, !inputEnded,
              capgate_bio_pending(networkIn) == 0, capgate_bio_pending(networkOut) == 0,
              bufferedCapacity > threshold,
              let rbio = BIO_new(BIO_s_mem()) else { return false }
        guard let wbio = BIO_new(BIO_s_mem()) else {
            BIO_free(rbio)
            return false
        }
        // SSL_set_bio with two new BIOs frees the old pair (it owns them).
        SSL_set_bio(ssl, rbio, wbio)
        networkIn = rbio
        networkOut = wbio
        return true
    }

    /// Ciphertext fed but not yet consumed by TLS (for read back-pressure decisions).
    public var bufferedCiphertextCount: Int { capgate_bio_pending(networkIn) }

    /// Ciphertext waiting to be sent to the socket (for write high-water decisions).
    public var pendingCiphertextCount: Int { capgate_bio_pending(networkOut) }

    /// Appends everything TLS wants to send to `out`; returns the number of bytes appended.
    @discardableResult
    public func drainCiphertext(into out: inout [UInt8]) -> Int {
        let pending = capgate_bio_pending(networkOut)
        guard pending > 0 else { return 0 }
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: pending))
        let got = out.withUnsafeMutableBytes { raw in
            drainCiphertext(into: UnsafeMutableRawBufferPointer(rebasing: raw[start...]))
        }
        out.removeLast(pending - got)
        return got
    }

    /// Moves up to `buffer.count` bytes of outgoing ciphertext into `buffer`; returns the count.
    public func drainCiphertext(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        var got = 0
        guard BIO_read_ex(networkOut, base, buffer.count, &got) == 1 else { return 0 }
        return got
    }

    // MARK: - Handshake

    /// True once ``handshake()`` returned ``HandshakeResult/done``.
    public var isHandshakeComplete: Bool { handshakeDone }

    /// Advances the handshake with the ciphertext fed so far.
    public func handshake() -> HandshakeResult {
        if let fatal { return .failed(fatal) }
        if handshakeDone { return .done }
        OpenSSLErrorQueue.clear()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            // Defence in depth: the ClientHello gate already refused clients without h2.
            if let requiredALPN, negotiatedALPN != requiredALPN, !(alpnMayBeAbsent && negotiatedALPN == nil) {
                return .failed(fail(TLSError(.alpnMismatch, "peer did not negotiate \(requiredALPN)")))
            }
            handshakeDone = true
            return .done
        }
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .wantIO
        default:
            return .failed(fail(handshakeError()))
        }
    }

    /// The error of a failed handshake: a verification failure names the X.509 reason.
    private func handshakeError() -> TLSError {
        let verify = SSL_get_verify_result(ssl)
        if verify != Int(X509_V_OK) {
            let reason = String(cString: X509_verify_cert_error_string(verify))
            return TLSError.drained(.peerVerificationFailed, "peer certificate rejected: \(reason)")
        }
        return TLSError.drained(.handshakeFailed, "TLS handshake failed")
    }

    /// The ALPN protocol both sides agreed on, if any.
    public var negotiatedALPN: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    // MARK: - Plaintext side

    /// Decrypts into `buffer`. Before the handshake completes this drives the handshake first
    /// (so its checks can never be bypassed by reading early).
    public func readPlaintext(into buffer: UnsafeMutableRawBufferPointer) -> ReadResult {
        if let fatal { return .error(fatal) }
        if !handshakeDone {
            switch handshake() {
            case .done: break
            case .wantIO: return .wantRead
            case .failed(let error): return .error(error)
            }
        }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .wantRead }
        // No ciphertext fed and nothing buffered in OpenSSL: the read could only say WANT_READ
        // (the one after every record's plaintext). Skipped, with its error-queue clear. Not
        // after end of input: that read reports the close or the truncation.
        if !inputEnded && BIO_ctrl_pending(networkIn) == 0 && SSL_has_pending(ssl) == 0 { return .wantRead }
        OpenSSLErrorQueue.clear()
        var got = 0
        let rc = SSL_read_ex(ssl, base, buffer.count, &got)
        if rc == 1 { return .bytes(got) }
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .wantRead
        case SSL_ERROR_ZERO_RETURN:
            return .closed
        default:
            return .error(fail(TLSError.drained(.protocolError, "TLS read failed")))
        }
    }

    /// Encrypts as much of `bytes` as possible; returns how many bytes were consumed (0 before
    /// the handshake completes). Drain the ciphertext afterwards.
    public func writePlaintext(_ bytes: UnsafeRawBufferPointer) throws(TLSError) -> Int {
        if let fatal { throw fatal }
        guard handshakeDone, let base = bytes.baseAddress else { return 0 }
        var total = 0
        // Partial-write mode returns after each record: loop until everything is encrypted
        // (the memory BIO never blocks, so this ends).
        while total < bytes.count {
            OpenSSLErrorQueue.clear()
            var written = 0
            let rc = SSL_write_ex(ssl, base + total, bytes.count - total, &written)
            if rc == 1 { total += written; continue }
            switch SSL_get_error(ssl, rc) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                return total
            default:
                throw fail(TLSError.drained(.protocolError, "TLS write failed"))
            }
        }
        return total
    }

    /// Convenience for ``writePlaintext(_:)-(UnsafeRawBufferPointer)`` with an array.
    public func writePlaintext(_ bytes: [UInt8]) throws(TLSError) -> Int {
        var result: Result<Int, TLSError> = .success(0)
        bytes.withUnsafeBytes { raw in
            do throws(TLSError) { result = .success(try writePlaintext(raw)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    /// Queues a close_notify alert (drain and send it). No-op after a fatal error or before
    /// the handshake completed, where OpenSSL must not send one.
    public func shutdown() {
        guard fatal == nil, handshakeDone else { return }
        OpenSSLErrorQueue.clear()
        _ = SSL_shutdown(ssl)
        OpenSSLErrorQueue.clear()
    }

    // MARK: - Peer

    /// The peer's VERIFIED leaf certificate (DER), or nil before the handshake completed, when
    /// the peer sent none, or if verification did not succeed.
    public var peerCertificate: [UInt8]? {
        guard handshakeDone, fatal == nil, SSL_get_verify_result(ssl) == Int(X509_V_OK),
              let cert = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(cert) }
        return Self.der(of: cert)
    }

    /// The negotiated protocol (`TLSv1.3`) and cipher suite (`TLS_AES_128_GCM_SHA256`) once the
    /// handshake completed (the access log); nil before. OpenSSL's static strings: no secret.
    public var negotiatedProtocol: (version: String, cipher: String)? {
        guard handshakeDone, fatal == nil, let v = SSL_get_version(ssl),
              let c = SSL_get_current_cipher(ssl), let name = SSL_CIPHER_get_name(c) else { return nil }
        return (String(cString: v), String(cString: name))
    }

    /// The SPIFFE identity of the peer's verified leaf (docs/hardening.md: only from the chain).
    public func peerIdentity() throws(PeerIdentityError) -> PeerIdentity {
        guard handshakeDone, fatal == nil, SSL_get_verify_result(ssl) == Int(X509_V_OK),
              let cert = SSL_get1_peer_certificate(ssl) else { throw PeerIdentityError.noVerifiedCertificate }
        defer { X509_free(cert) }
        // Same checks as on DER (PeerIdentity(leafDER:), which the fuzz target drives), without
        // a second parse of the leaf.
        let length = i2d_X509(cert, nil)
        guard length > 0, Int(length) <= PeerIdentity.maxDERLength else { throw PeerIdentityError.malformedCertificate }
        let identity = try PeerIdentity(borrowedLeaf: cert)
        if let binding = trustBinding,
           !binding.check(leafTrustDomain: identity.spiffeID.trustDomain, verifiedChain: verifiedChain()) {
            throw PeerIdentityError.trustDomainNotVouched
        }
        return identity
    }

    /// DER of the trust anchor the peer's chain was verified to (the last certificate of the
    /// verified chain); nil before a verified handshake. The server drains a connection whose
    /// anchor a trust-bundle reload removed (`Server.reloadTLS`).
    public func verifiedAnchorDER() -> [UInt8]? {
        verifiedChain().last.flatMap { Self.der(of: $0) }
    }

    /// The (issuer, serial) keys (`CRL.revocationKey`) of every certificate of the verified
    /// chain below the anchor (leaf first, then intermediates): a CRL reload drains the
    /// connection when it lists ANY of them, like OpenSSL's whole-chain check refuses a new
    /// handshake. Empty before a verified handshake.
    public func verifiedChainRevocationKeys() -> [String] {
        verifiedChain().dropLast().compactMap { cert in
            SerialNumber.hex(X509_get0_serialNumber(cert)).flatMap {
                CRL.revocationKey(issuer: X509_get_issuer_name(cert), serialHex: $0)
            }
        }
    }

    /// OpenSSL's verified chain (leaf first, anchor last), borrowed: valid while the engine is.
    private func verifiedChain() -> [OpaquePointer] {
        guard let chain = SSL_get0_verified_chain(ssl) else { return [] }
        let stack = chain
        var out: [OpaquePointer] = []
        for i in 0..<OPENSSL_sk_num(stack) {
            if let raw = OPENSSL_sk_value(stack, i) { out.append(OpaquePointer(raw)) }
        }
        return out
    }

    /// DER encoding of a certificate.
    static func der(of cert: OpaquePointer) -> [UInt8]? {
        let length = i2d_X509(cert, nil)
        guard length > 0 else { return nil }
        var out = [UInt8](repeating: 0, count: Int(length))
        let written = out.withUnsafeMutableBufferPointer { buf -> Int32 in
            var cursor: UnsafeMutablePointer<UInt8>? = buf.baseAddress
            return i2d_X509(cert, &cursor)
        }
        return written == length ? out : nil
    }

    /// Records the first fatal error and returns it.
    private func fail(_ error: TLSError) -> TLSError {
        if fatal == nil { fatal = error }
        return fatal ?? error
    }
}
