import CapgateX509
import COpenSSL
import COpenSSLShims

/// An OpenSSL `SSL_CTX` configured with one of capgate's two profiles (mTLS server, h2 client).
///
/// WHY `@unchecked Sendable`: the context is fully configured inside the factory and never
/// mutated afterwards; OpenSSL documents `SSL_new` on a shared, unmodified `SSL_CTX` as thread
/// safe (reference counts are atomic). Every event loop may therefore create engines from one
/// context, and a reload swaps in a whole new context (``CertificateReloader``).
public final class TLSContext: @unchecked Sendable {
    /// Which side of the handshake engines made from this context play.
    public enum Role: Sendable, Equatable { case server, client }

    /// The only application protocol capgate speaks (RFC 9113 section 3.2: "h2" over TLS).
    public static let h2 = "h2"

    /// TLS 1.3 groups offered/accepted, in preference order. Set explicitly because OpenSSL's
    /// default also offers X448 and P-521 (docs/platform-notes.md "Modern server profile").
    public static let groups = "X25519:P-256:P-384"

    /// TLS 1.3 cipher suites (all AEAD, RFC 8446 section 9.1 mandatory + ChaCha20 for CPUs
    /// without AES instructions).
    public static let cipherSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

    /// Longest accepted client chain below the trust anchor. Short by design: capgate's PKI is a
    /// root (or one intermediate) and leaves; long chains only cost CPU per handshake.
    public static let verifyDepth: Int32 = 4

    let ctx: OpaquePointer
    /// Server or client.
    public let role: Role
    /// Client only: the name the server certificate must match (DNS name or IP literal).
    public let serverName: String?
    /// Client only: whether `serverName` is an IP literal (no SNI is sent for IPs, RFC 6066 s3).
    let serverNameIsIP: Bool
    /// The handshake fails unless this ALPN protocol was negotiated (nil: no requirement).
    let requiredALPN: String?
    /// Server only: a client that offers no ALPN at all may complete the handshake
    /// (``TLSServerMaterial/allowMissingALPN``); one that offers ALPN without h2 never does.
    var alpnMayBeAbsent = false
    /// Server only: which trust domains each client CA may vouch for (checked by
    /// ``TLSEngine/peerIdentity()``); nil for clients. Set once by the factory.
    var trustBinding: TrustDomainBinding?

    /// Server only: DER of every trust anchor this context verifies clients against (the
    /// main bundle and every `[[trust_domain]]` bundle); empty for clients.
    public var trustAnchorsDER: [[UInt8]] { trustBinding?.anchors ?? [] }

    init(ctx: OpaquePointer, role: Role, serverName: String?, serverNameIsIP: Bool, requiredALPN: String?) {
        self.ctx = ctx
        self.role = role
        self.serverName = serverName
        self.serverNameIsIP = serverNameIsIP
        self.requiredALPN = requiredALPN
    }

    deinit { SSL_CTX_free(ctx) }

    /// A new engine (one per connection) playing this context's role.
    public func makeEngine() throws(TLSError) -> TLSEngine {
        try TLSEngine(context: self)
    }

    // MARK: - Shared profile

    /// TLS 1.3 only, explicit groups and suites, no compression, no renegotiation, no tickets,
    /// no session cache, partial writes. Used by both roles.
    static func applyCommonProfile(_ ctx: OpaquePointer) throws(TLSError) {
        OpenSSLErrorQueue.clear()
        guard capgate_ssl_ctx_set_min_proto_version(ctx, TLS1_3_VERSION) == 1,
              capgate_ssl_ctx_set_max_proto_version(ctx, TLS1_3_VERSION) == 1 else {
            throw TLSError.drained(.configuration, "cannot restrict to TLS 1.3")
        }
        guard capgate_ssl_ctx_set1_groups_list(ctx, groups) == 1 else {
            throw TLSError.drained(.configuration, "cannot set groups \(groups)")
        }
        guard SSL_CTX_set_ciphersuites(ctx, cipherSuites) == 1 else {
            throw TLSError.drained(.configuration, "cannot set cipher suites")
        }
        // IGNORE_UNEXPECTED_EOF: a TCP close without close_notify is a normal end for HTTP/2
        // (the stream layer already knows whether a response was complete).
        // NO_TICKET + 0 tickets + cache off: see TLSContext+Server.swift "Session resumption".
        _ = SSL_CTX_set_options(ctx, capgate_ssl_op_no_compression()
            | capgate_ssl_op_no_renegotiation()
            | capgate_ssl_op_ignore_unexpected_eof()
            | capgate_ssl_op_no_ticket())
        // Partial writes + moving buffer: a retried write may come from another Swift array.
        // RELEASE_BUFFERS: OpenSSL frees its ~34 KiB of record buffers whenever they are empty,
        // so an idle connection does not keep them (docs/benchmarks.md, idle connections).
        _ = capgate_ssl_ctx_set_mode(ctx, capgate_ssl_mode_enable_partial_write()
            | capgate_ssl_mode_accept_moving_write_buffer()
            | capgate_ssl_mode_release_buffers())
        _ = capgate_ssl_ctx_set_session_cache_mode(ctx, capgate_ssl_sess_cache_off())
        guard SSL_CTX_set_num_tickets(ctx, 0) == 1 else {
            throw TLSError.drained(.configuration, "cannot disable session tickets")
        }
    }

    /// Loads the trust anchors into the context's store; returns the number of certificates.
    @discardableResult
    static func loadTrustBundle(_ ctx: OpaquePointer, pem: [UInt8], advertise: Bool) throws(TLSError) -> Int {
        let certs = try TLSPEM.certificates(pem, kind: .invalidTrustBundle, what: "trust bundle")
        defer { withExtendedLifetime(certs) {} }
        guard let store = SSL_CTX_get_cert_store(ctx) else {
            throw TLSError.drained(.configuration, "context has no certificate store")
        }
        for cert in certs {
            OpenSSLErrorQueue.clear()
            guard X509_STORE_add_cert(store, cert.pointer) == 1 else {
                throw TLSError.drained(.invalidTrustBundle, "trust bundle: cannot add certificate")
            }
            // Server: list the CA names in CertificateRequest so clients holding several
            // certificates pick one this server can verify (RFC 8446 section 4.2.4).
            if advertise, SSL_CTX_add_client_CA(ctx, cert.pointer) != 1 {
                throw TLSError.drained(.invalidTrustBundle, "trust bundle: cannot advertise CA name")
            }
        }
        return certs.count
    }

    /// Loads DER trust anchors (the ``TrustDomainBinding``'s) into the store and, for a server,
    /// advertises their names.
    static func loadAnchors(_ ctx: OpaquePointer, der anchors: [[UInt8]], advertise: Bool) throws(TLSError) {
        guard let store = SSL_CTX_get_cert_store(ctx) else {
            throw TLSError.drained(.configuration, "context has no certificate store")
        }
        for der in anchors {
            let cert: OwnedX509
            do throws(X509Error) { cert = try DER.certificate(der) } catch {
                throw TLSError(.invalidTrustBundle, "trust anchor does not parse", reading: error)
            }
            defer { withExtendedLifetime(cert) {} }
            OpenSSLErrorQueue.clear()
            guard X509_STORE_add_cert(store, cert.pointer) == 1 else {
                throw TLSError.drained(.invalidTrustBundle, "trust bundle: cannot add certificate")
            }
            if advertise, SSL_CTX_add_client_CA(ctx, cert.pointer) != 1 {
                throw TLSError.drained(.invalidTrustBundle, "trust bundle: cannot advertise CA name")
            }
        }
    }

    /// Installs the leaf, its intermediates and the key, and checks that the key matches.
    static func loadIdentity(_ ctx: OpaquePointer, chainPEM: [UInt8], keyPEM: [UInt8]) throws(TLSError) {
        let certs = try TLSPEM.certificates(chainPEM, kind: .invalidCertificate, what: "certificate chain")
        let key = try TLSPEM.privateKey(keyPEM)
        defer { withExtendedLifetime((certs, key)) {} }
        OpenSSLErrorQueue.clear()
        guard SSL_CTX_use_certificate(ctx, certs[0].pointer) == 1 else {
            throw TLSError.drained(.invalidCertificate, "certificate chain: leaf rejected")
        }
        for intermediate in certs.dropFirst() {
            guard capgate_ssl_ctx_add1_chain_cert(ctx, intermediate.pointer) == 1 else {
                throw TLSError.drained(.invalidCertificate, "certificate chain: intermediate rejected")
            }
        }
        guard SSL_CTX_use_PrivateKey(ctx, key.pointer) == 1, SSL_CTX_check_private_key(ctx) == 1 else {
            throw TLSError.drained(.keyMismatch, "private key does not match the leaf certificate")
        }
    }
}
