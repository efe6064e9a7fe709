import AgentKernel
import CapgateConnection
import CapgateCore
import CapgateHTTP2
import Foundation
import Synchronization

/// The transport's `RequestHandler` for the kernel: hands each request with its
/// certificate-bound identity to `KernelService`, gives the transport the per-route body
/// caps and the error body of the verb list (`KernelRoutes`), and watches certificate
/// expiry per identity (a warning when a connecting identity's certificate expires soon).
public final class KernelRequestHandler: RequestHandler {
    public let service: KernelService
    public let expiry: CertificateExpiryTracker
    public let routeBodyCaps: [String: Int]
    /// Told about every answered request (metrics, access log); nil: nobody is.
    let observe: (@Sendable (RequestRecord) -> Void)?

    public init(service: KernelService, expiry: CertificateExpiryTracker, limits: GatewayLimits,
                observe: (@Sendable (RequestRecord) -> Void)? = nil) {
        self.service = service
        self.expiry = expiry
        self.routeBodyCaps = KernelRoutes.bodyCaps(limits)
        self.observe = observe
    }

    public func handle(_ request: HTTPRequest, peer: PeerInfo) async -> HTTPResponse {
        expiry.observe(identity: peer.spiffeID, notAfter: peer.certificateNotAfter, serial: peer.certificateSerialHex)
        return await service.handle(request, identity: peer.spiffeID)
    }

    public func localErrorBody(for trip: H2StreamTrip) -> [UInt8] { KernelRoutes.errorBody(for: trip) }

    public func overloadedBody() -> [UInt8] { KernelRoutes.overloadedBody() }
}

/// Per-identity certificate expiry, for the warning log and for metrics. Bounded: one
/// entry per identity, and identities come only from verified certificates.
public final class CertificateExpiryTracker: Sendable {
    public struct Entry: Sendable, Equatable {
        public var notAfter: Int64
        public var serialHex: String
        /// When we last warned about this certificate (unix seconds), to warn once an hour.
        public var warnedAt: Int64?
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let window: Int64
    private let warn: @Sendable (String) -> Void
    private let now: @Sendable () -> Int64
    private let maxEntries: Int

    public init(warningWindowSeconds: Double, maxEntries: Int = 100_000,
                now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) },
                warn: @escaping @Sendable (String) -> Void) {
        self.window = Int64(warningWindowSeconds)
        self.maxEntries = maxEntries
        self.now = now
        self.warn = warn
    }

    public func observe(identity: String, notAfter: Int64, serial: String) {
        let t = now()
        let message: String? = entries.withLock { table in
            let known = table[identity]
            var e = known ?? Entry(notAfter: notAfter, serialHex: serial, warnedAt: nil)
            if e.serialHex != serial { e = Entry(notAfter: notAfter, serialHex: serial, warnedAt: nil) }
            defer {
                // Written only when it changed: every request of a known certificate came here.
                if e != known, table.count < maxEntries || known != nil { table[identity] = e }
            }
            guard notAfter - t <= window, e.warnedAt.map({ t - $0 >= 3600 }) ?? true else { return nil }
            e.warnedAt = t
            let hours = max(0, notAfter - t) / 3600
            return "certificate of \(identity) (serial \(serial)) expires in \(hours)h"
        }
        if let message { warn(message) }
    }

    /// identity -> seconds until its last seen certificate expires (for metrics).
    public func secondsUntilExpiry() -> [String: Int64] {
        let t = now()
        return entries.withLock { $0.mapValues { $0.notAfter - t } }
    }

    /// Every identity's last seen certificate, sorted by identity (for metrics).
    public func snapshot() -> [CertificateExpiry] {
        let t = now()
        return entries.withLock { table in
            table.map { CertificateExpiry(identity: $0.key, serialHex: $0.value.serialHex, notAfter: $0.value.notAfter,
                                          secondsRemaining: $0.value.notAfter - t) }
        }.sorted { $0.identity < $1.identity }
    }

    /// The warning window in seconds (`[certificates] expiry_warning_days`).
    public var warningWindowSeconds: Int64 { window }
}

/// One identity's client certificate expiry, as last seen on a request.
public struct CertificateExpiry: Sendable, Equatable {
    /// The SPIFFE ID.
    public var identity: String
    public var serialHex: String
    /// Unix seconds.
    public var notAfter: Int64
    /// notAfter minus now; negative once expired.
    public var secondsRemaining: Int64
}
