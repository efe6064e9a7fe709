import CapgateIO
import Foundation
import Synchronization

/// Revocation health warnings (``RevocationWarnings``): a missing optional CRL, a CRL close
/// to or past its nextUpdate. Checked at start, after every TLS reload and every
/// ``revocationCheckInterval`` (a CRL goes stale with no file change at all).
extension Gateway {
    /// Period of the CRL freshness check: cheap (one lock, one compare).
    static let revocationCheckInterval = Duration.seconds(60)

    /// Logs the state of revocation checking if it needs the operator: OFF because the
    /// optional CRL is missing (every call: start and each reload), or a CRL due soon or
    /// stale (rate-limited by ``RevocationWarnings``). `now`: Unix seconds (tests).
    public func checkRevocation(now: Int64 = Int64(Date().timeIntervalSince1970), includingOff: Bool = true) {
        if includingOff, let message = RevocationWarnings.revocationOffMessage(
            crlOptional: config.tls.crlOptional, crlPath: config.tls.crl, checking: server.revocationCheckingEnabled) {
            logger.log(.warning, message)
        }
        let nextUpdate = server.crlNextUpdate
        if let (isError, message) = revocationWarnings.withLock({ $0.check(nextUpdate: nextUpdate, now: now) }) {
            logger.log(isError ? .error : .warning, message)
        }
    }

    /// Runs the freshness check every ``revocationCheckInterval`` on `handle`'s loop until
    /// the gateway is gone or the loop stops.
    func startRevocationChecks(on handle: EventLoopHandle) {
        handle.execute { [weak self] loop in self?.scheduleRevocationCheck(on: loop) }
    }

    private func scheduleRevocationCheck(on loop: EventLoop) {
        _ = loop.scheduleTimer(after: Self.revocationCheckInterval) { [weak self, weak loop] in
            guard let self, let loop else { return }
            self.checkRevocation(includingOff: false)
            self.scheduleRevocationCheck(on: loop)
        }
    }
}
