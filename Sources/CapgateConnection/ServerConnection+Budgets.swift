import CapgateIO

// The two connection budgets of docs/hardening.md "Pre-authentication exhaustion": a socket is
// counted as unauthenticated (per source, global) until its handshake verified an identity,
// then as authenticated (global, per SPIFFE ID, per IP). Never both, never neither while open.
extension ServerConnection {
    /// The handshake verified `identity`: give back the pre-auth slot and take an authenticated
    /// one. Returns the close reason when that is refused (or when this socket was evicted
    /// from the pre-auth budget while its handshake finished: its slot went to a newer one).
    func moveToAuthenticatedBudget(identity: String) -> CloseReason? {
        if let ticket = preAuthTicket {
            preAuthTicket = nil
            guard shared.preAuth.release(ticket: ticket) else { return .preAuthEvicted }
        }
        if let refusal = shared.authenticated.tryAcquire(identity: identity) {
            return refusal == .global ? .globalCap : .perIdentityCap
        }
        guard shared.perIP.tryAcquire(ip) else {
            shared.authenticated.release(identity: identity)
            shared.counters.rejectedPerIP.add(1, ordering: .relaxed)
            return .perIPCap
        }
        authenticatedSlot = identity
        return nil
    }

    /// Gives back whichever budget slot the connection holds (on close).
    func releaseBudgets() {
        if let ticket = preAuthTicket {
            preAuthTicket = nil
            _ = shared.preAuth.release(ticket: ticket)
        }
        if let identity = authenticatedSlot {
            authenticatedSlot = nil
            shared.authenticated.release(identity: identity)
            shared.perIP.release(ip)
        }
    }

    /// The peer's first bytes arrived (its ClientHello, or whatever it sends first): now the
    /// socket spends a handshake token of its source and of the server. Over the source's rate
    /// it waits its turn in arrival order, its bytes held (`PreAuthLedger.activate`); when the
    /// wait would be too long, or over the global rate, it closes before any TLS work
    /// (`handshake_rate_limited`). Silent sockets never get here, so they cannot spend the
    /// tokens the agents of their address need (docs/hardening.md).
    ///
    /// A waiting flight's bytes are held in memory, so a first read larger than one TLS record
    /// (`maxHeldFirstFlightBytes`; a ClientHello fits in one) is refused rather than held: the
    /// held bytes stay bounded by the pre-auth slots times one record.
    func handshakeInputArrived(byteCount: Int) -> HandshakeAdmission {
        guard let ticket = preAuthTicket else { return .proceed }
        var admission = shared.preAuth.activate(ticket: ticket, now: ServerShared.monotonicSeconds())
        if case .wait = admission, byteCount > Self.maxHeldFirstFlightBytes {
            _ = shared.preAuth.release(ticket: ticket)
            shared.preAuth.rateLimitedSource.add(1, ordering: .relaxed)
            admission = .refused
        }
        switch admission {
        case .proceed:
            break
        case .wait(let seconds):
            scheduleHandshakeRetry(after: seconds)
        case .refused:
            preAuthTicket = nil  // released
            close(reason: .handshakeRateLimited, notifyPeer: false)
        }
        return admission
    }

    /// One TLS record (2^14 bytes of payload, RFC 8446 section 5.1) and its 5-byte header: the
    /// most a waiting first flight may hold.
    static let maxHeldFirstFlightBytes = 16_384 + 5

    /// Asks the ledger again when this socket's turn should have come.
    private func scheduleHandshakeRetry(after seconds: Double) {
        guard let loop else { return }
        if let timer = handshakeQueueTimer { loop.cancelTimer(timer) }
        handshakeQueueTimer = loop.scheduleTimer(after: .microseconds(Int64(seconds * 1_000_000))) { [weak self] in
            guard let self else { return }
            self.handshakeQueueTimer = nil
            guard !self.core.isClosed, self.preAuthTicket != nil else { return }
            switch self.handshakeInputArrived(byteCount: 0) {  // the held bytes were sized at arrival
            case .proceed: self.core.resumeHandshakeInput()
            case .wait, .refused: break  // rescheduled, or closed
            }
        }
    }

    /// The pre-auth budget evicted this socket (a newer one needed its slot). Only a socket
    /// still unauthenticated goes; one that authenticated meanwhile closes itself in
    /// `moveToAuthenticatedBudget`, so nothing here can cut an authenticated connection.
    func evictUnauthenticated() {
        guard !core.isClosed, authenticatedSlot == nil, !lifecycle.isEstablished else { return }
        close(reason: .preAuthEvicted, notifyPeer: false)
    }
}
