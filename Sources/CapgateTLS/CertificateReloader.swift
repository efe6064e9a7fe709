import CapgateX509
import COpenSSL
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Holds the server's current ``TLSContext`` and swaps in a new one only after the new
/// certificate/key/bundle/CRL set fully validates (docs/hardening.md: operators need hot reload of
/// the leaf AND the bundle without dropping connections; a bad set must change nothing).
///
/// Existing connections keep the context they were created from (their `SSL` holds a
/// reference); new connections call ``current``.
public final class CertificateReloader: Sendable {
    private struct State {
        var context: TLSContext
        var generation: UInt64
        var leafNotAfter: Int64
        var hasCRL: Bool
        var crlNextUpdate: Int64?
    }

    private let state: Mutex<State>

    /// Validates the initial set (same rules as ``reload(_:now:)``).
    public init(material: TLSServerMaterial, now: Int64 = CertificateReloader.unixNow()) throws(TLSError) {
        let (context, notAfter) = try Self.validate(material, now: now)
        state = Mutex(State(context: context, generation: 1, leafNotAfter: notAfter, hasCRL: material.crlPEM != nil,
                            crlNextUpdate: Self.earliestNextUpdate(material.crlPEM)))
    }

    /// The context new connections must use.
    public var current: TLSContext { state.withLock { $0.context } }

    /// Starts at 1; +1 per successful reload (for logs and metrics).
    public var generation: UInt64 { state.withLock { $0.generation } }

    /// The current server leaf's notAfter (Unix seconds), for expiry warnings.
    public var leafNotAfter: Int64 { state.withLock { $0.leafNotAfter } }

    /// True when the current context checks client certificates against a CRL. Lets a caller
    /// refuse a reload that would silently turn revocation checking off (a deleted CRL file).
    public var hasCRL: Bool { state.withLock { $0.hasCRL } }

    /// The earliest nextUpdate (Unix seconds) of the current CRLs; nil without a CRL or when
    /// no CRL states one. Past it OpenSSL fails EVERY client handshake (`CRL has expired`):
    /// the gateway warns ahead of it and, once passed, logs why handshakes fail.
    public var crlNextUpdate: Int64? { state.withLock { $0.crlNextUpdate } }

    /// Validates `material` and, only if it is fully valid, makes it current. On error nothing
    /// changes and the error says what was wrong.
    @discardableResult
    public func reload(_ material: TLSServerMaterial, now: Int64 = CertificateReloader.unixNow()) throws(TLSError) -> TLSContext {
        // Build outside the lock: parsing and key checks take milliseconds.
        let (context, notAfter) = try Self.validate(material, now: now)
        let nextUpdate = Self.earliestNextUpdate(material.crlPEM)
        state.withLock {
            $0.context = context
            $0.generation += 1
            $0.leafNotAfter = notAfter
            $0.hasCRL = material.crlPEM != nil
            $0.crlNextUpdate = nextUpdate
        }
        return context
    }

    /// Everything a set must satisfy before it may serve: it builds a server context (leaf and
    /// key parse and MATCH, bundle and CRLs parse); the server leaf is inside its validity
    /// window; every CRL is signed by a CA in the trust bundle and not past nextUpdate (a stale
    /// or foreign CRL would make OpenSSL reject EVERY client). Returns the context and the
    /// leaf's notAfter.
    public static func validate(_ material: TLSServerMaterial, now: Int64) throws(TLSError) -> (TLSContext, Int64) {
        let context = try TLSContext.server(material: material)
        let chain = try TLSPEM.certificates(material.certificateChainPEM, kind: .invalidCertificate, what: "certificate chain")
        defer { withExtendedLifetime(chain) {} }
        guard let notBefore = ASN1Time.unixSeconds(X509_get0_notBefore(chain[0].pointer)),
              let notAfter = ASN1Time.unixSeconds(X509_get0_notAfter(chain[0].pointer)) else {
            throw TLSError(.invalidCertificate, "server certificate: unreadable validity dates")
        }
        guard notBefore <= now else { throw TLSError(.expired, "server certificate is not yet valid") }
        guard now < notAfter else { throw TLSError(.expired, "server certificate has expired") }
        if let crlPEM = material.crlPEM {
            try validateCRLs(crlPEM, bundlePEM: material.allAnchorsPEM, now: now)
        }
        return (context, notAfter)
    }

    private static func validateCRLs(_ crlPEM: [UInt8], bundlePEM: [UInt8], now: Int64) throws(TLSError) {
        let crls = try TLSPEM.crls(crlPEM)
        let bundle = try TLSPEM.certificates(bundlePEM, kind: .invalidTrustBundle, what: "trust bundle")
        defer { withExtendedLifetime((crls, bundle)) {} }
        for crl in crls.map(\.pointer) {
            let signedByBundle = bundle.map(\.pointer).contains { ca in
                X509_NAME_cmp(X509_get_subject_name(ca), X509_CRL_get_issuer(crl)) == 0
                    && X509_get0_pubkey(ca).map { X509_CRL_verify(crl, $0) == 1 } == true
            }
            OpenSSLErrorQueue.clear()
            guard signedByBundle else { throw TLSError(.invalidCRL, "CRL is not signed by a CA of the trust bundle") }
            if let next = X509_CRL_get0_nextUpdate(crl) {
                guard let nextUpdate = ASN1Time.unixSeconds(next) else {
                    throw TLSError(.invalidCRL, "CRL: unreadable nextUpdate")
                }
                guard now < nextUpdate else { throw TLSError(.expired, "CRL is past its nextUpdate") }
            }
        }
    }

    /// The earliest readable nextUpdate of the CRLs in `pem` (already validated by
    /// ``validate(_:now:)``, so an unreadable one cannot occur here and is skipped).
    static func earliestNextUpdate(_ pem: [UInt8]?) -> Int64? {
        guard let pem, let crls = try? TLSPEM.crls(pem) else { return nil }
        defer { withExtendedLifetime(crls) {} }
        let dates = crls.compactMap { crl in X509_CRL_get0_nextUpdate(crl.pointer).flatMap(ASN1Time.unixSeconds) }
        OpenSSLErrorQueue.clear()
        return dates.min()
    }

    /// Wall-clock seconds; the only clock read of this layer, injectable in every API.
    public static func unixNow() -> Int64 { Int64(time(nil)) }
}
