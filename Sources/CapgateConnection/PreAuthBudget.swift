import CapgateCore
import Synchronization

/// The pre-authentication budget shared by every loop: a `PreAuthLedger` behind one lock
/// (one dictionary update per accept and per handshake), plus its counters. An evicted socket
/// lives on some loop: its payload is the closure that posts the close there, run by the
/// caller AFTER the lock is released.
final class PreAuthBudget: Sendable {
    typealias Evict = @Sendable () -> Void

    let ipv6PrefixLength: Int
    private let ledger: Mutex<PreAuthLedger<Evict>>
    let evictedSource = Atomic<Int>(0)
    let evictedGlobal = Atomic<Int>(0)
    let rateLimitedSource = Atomic<Int>(0)
    let rateLimitedGlobal = Atomic<Int>(0)
    /// Times a first flight was told to wait for its source's handshake token (a socket that
    /// waits for several turns counts each).
    let queued = Atomic<Int>(0)

    init(limits: GatewayLimits) {
        ipv6PrefixLength = limits.preAuthIPv6PrefixLength
        ledger = Mutex(PreAuthLedger(limits: .init(limits)))
    }

    /// The budget key of a peer IP (IPv6 grouped by prefix).
    func source(ofIP ip: String) -> String {
        SourceAddress.key(ofIP: ip, ipv6PrefixLength: ipv6PrefixLength)
    }

    /// Admits a new socket (evicting if full, running the evictions' closures) and returns its
    /// ticket. No handshake token is taken here: see `activate`.
    func admit(source: String, now: Double, evict: @escaping Evict) -> UInt64 {
        let admission = ledger.withLock { $0.admit(source: source, payload: evict, now: now) }
        for (close, scope) in admission.evicted {
            if scope == .source {
                evictedSource.add(1, ordering: .relaxed)
            } else {
                evictedGlobal.add(1, ordering: .relaxed)
            }
            close()
        }
        return admission.ticket
    }

    /// The socket's first bytes arrived (or its wait is over): `.proceed`, `.wait(seconds)`
    /// (queued for its source's token: ask again then), or `.refused` (counted) when it is over
    /// a handshake rate and must close now (its ticket is released). See
    /// `PreAuthLedger.activate`.
    func activate(ticket: UInt64, now: Double) -> HandshakeAdmission {
        switch ledger.withLock({ $0.activate(ticket: ticket, now: now) }) {
        case .active, .unknown:
            return .proceed
        case .wait(let seconds):
            queued.add(1, ordering: .relaxed)
            return .wait(seconds: seconds)
        case .rateLimited(.source):
            rateLimitedSource.add(1, ordering: .relaxed)
            return .refused
        case .rateLimited(.global):
            rateLimitedGlobal.add(1, ordering: .relaxed)
            return .refused
        }
    }

    /// See `PreAuthLedger.release`.
    func release(ticket: UInt64) -> Bool {
        ledger.withLock { $0.release(ticket: ticket) }
    }

    /// Unauthenticated sockets held now.
    var active: Int { ledger.withLock { $0.count } }
}
