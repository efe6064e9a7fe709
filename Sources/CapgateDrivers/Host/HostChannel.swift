import CapgateHTTPClient
import CapgateTLS
import Foundation
import Synchronization

/// The one shared connection to a driver host (per url + identity): every call of every
/// driver routed there multiplexes over it as its own HTTP/2 stream.
///
/// A closed connection (host restarted, GOAWAY, TLS failure) is replaced on the next call.
/// Failed connects back off exponentially (`backoff(after:)`); a call whose deadline falls
/// before the next allowed attempt fails at once with the last connect error instead of
/// waiting, so a dead host costs callers nothing beyond their own timeouts.
public final class HostChannel: Sendable {
    public let endpoint: HostEndpoint
    public let identity: String
    /// The TLS files this channel was built from (drivers sharing it must agree).
    let files: [String]
    private let tls: TLSContext

    /// Upper bound for the TCP connect plus the TLS handshake of one attempt.
    static let connectTimeout: Duration = .seconds(10)

    private struct State {
        var connection: HTTPClientConnection?
        var pending: Task<HTTPClientConnection, any Error>?
        var failures = 0
        var retryAt: ContinuousClock.Instant?
        var lastError = ""
    }
    private let state = Mutex(State())

    init(endpoint: HostEndpoint, identity: String, tls: TLSContext, files: [String]) {
        self.endpoint = endpoint
        self.identity = identity
        self.tls = tls
        self.files = files
    }

    /// 0.1 s, doubling per consecutive failure, at most 5 s.
    static func backoff(after failures: Int) -> Duration {
        .milliseconds(min(5000, 100 << min(max(failures - 1, 0), 6)))
    }

    /// Why no connection could be had (text for the DriverError message).
    struct Unavailable: Error { let reason: String }

    private enum Step {
        case ready(HTTPClientConnection)
        case join(Task<HTTPClientConnection, any Error>)
        case backoff(ContinuousClock.Instant, String)
    }

    /// The live connection, connecting (once, shared by concurrent callers) when needed.
    func connection(deadline: ContinuousClock.Instant) async throws -> HTTPClientConnection {
        while true {
            let step: Step = state.withLock { s in
                if let c = s.connection, !c.isClosed { return .ready(c) }
                s.connection = nil
                if let t = s.pending { return .join(t) }
                if let r = s.retryAt, r > .now { return .backoff(r, s.lastError) }
                let t = Task { try await self.connect() }
                s.pending = t
                return .join(t)
            }
            switch step {
            case .ready(let c):
                return c
            case .backoff(let at, let last):
                if at >= deadline { throw Unavailable(reason: "unavailable (\(last)); retrying with backoff") }
                try await Task.sleep(until: at, clock: .continuous)
            case .join(let task):
                do {
                    let c = try await task.value
                    state.withLock { s in
                        if s.pending == task {
                            s.pending = nil
                            s.connection = c
                            s.failures = 0
                            s.retryAt = nil
                        }
                    }
                    return c
                } catch {
                    let reason = (error as? Unavailable)?.reason ?? String(describing: error)
                    state.withLock { s in
                        if s.pending == task {
                            s.pending = nil
                            s.failures += 1
                            s.retryAt = .now + HostChannel.backoff(after: s.failures)
                            s.lastError = reason
                        }
                    }
                    throw Unavailable(reason: reason)
                }
            }
        }
    }

    /// One connect attempt: TCP connect on a thread of its own (the socket layer blocks), then
    /// the handshake and the identity check, bounded by `connectTimeout` as a whole.
    private func connect() async throws -> HTTPClientConnection {
        let endpoint = self.endpoint, tls = self.tls, identity = self.identity
        let authority = endpoint.serverName.contains(":") ? "[\(endpoint.serverName)]:\(endpoint.port)"
            : "\(endpoint.serverName):\(endpoint.port)"
        let connection: HTTPClientConnection = try await withCheckedThrowingContinuation { c in
            let thread = Thread {
                do {
                    c.resume(returning: try HTTPClientConnection(
                        host: endpoint.address, port: endpoint.port, tls: tls, authority: authority,
                        connectTimeout: HostChannel.connectTimeout, requestTimeout: nil,
                        expectedPeerID: identity))
                } catch let error as HTTPClientError {
                    c.resume(throwing: Unavailable(reason: HostChannel.describe(error)))
                } catch {
                    c.resume(throwing: Unavailable(reason: String(describing: error)))
                }
            }
            thread.start()
        }
        // A host that accepts TCP but never finishes TLS must not pin this attempt forever:
        // closing the connection fails the wait below.
        let watchdog = Task {
            try await Task.sleep(for: HostChannel.connectTimeout)
            connection.close()
        }
        defer { watchdog.cancel() }
        do {
            try await connection.waitUntilReady()
        } catch {
            connection.close()
            if error == .closed { throw Unavailable(reason: "TLS handshake did not complete in time") }
            throw Unavailable(reason: HostChannel.describe(error, identity: identity))
        }
        return connection
    }

    /// The message text of a client failure (an identity mismatch names both IDs).
    static func describe(_ error: HTTPClientError, identity: String = "") -> String {
        switch error {
        case .peerIdentityMismatch(let got): return "host identity \(got) is not the configured \(identity)"
        case .io(let e): return "cannot connect: \(e)"
        case .tls(let e): return "TLS failed: \(e)"
        default: return error.description
        }
    }
}

/// The channels of one kernel, keyed by (url, identity) so drivers that name the same host
/// share one connection.
public final class HostChannelPool: Sendable {
    private struct Key: Hashable {
        let url: String
        let identity: String
    }
    private let channels = Mutex<[Key: HostChannel]>([:])

    public init() {}

    /// The channel for `config`, created (TLS files read now, so a missing or bad file fails
    /// at startup) on first use. Two configurations naming one (url, identity) with different
    /// TLS files are refused: one connection cannot present two client identities.
    public func channel(for config: HostDriverConfig) throws(HostDriverSetupError) -> HostChannel {
        let endpoint: HostEndpoint
        switch HostEndpoint.parse(config.url) {
        case .success(let e): endpoint = e
        case .failure(let e): throw HostDriverSetupError("driver '\(config.id)': url: \(e.message)")
        }
        let key = Key(url: config.url, identity: config.identity)
        let files = [config.caFile, config.clientCertificate, config.clientPrivateKey]
        if let existing = channels.withLock({ $0[key] }) {
            guard existing.files == files else {
                throw HostDriverSetupError(
                    "driver '\(config.id)': another driver names the same url and identity with other TLS files")
            }
            return existing
        }
        let tls: TLSContext
        do {
            tls = try TLSContext.client(certificate: config.clientCertificate, key: config.clientPrivateKey,
                                        trustBundle: config.caFile, serverName: endpoint.serverName)
        } catch {
            throw HostDriverSetupError("driver '\(config.id)': TLS: \(error)")
        }
        let made = HostChannel(endpoint: endpoint, identity: config.identity, tls: tls, files: files)
        return channels.withLock { c in
            if let raced = c[key] { return raced }
            c[key] = made
            return made
        }
    }
}

/// A host driver that cannot be built from its configuration (reported at startup).
public struct HostDriverSetupError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
