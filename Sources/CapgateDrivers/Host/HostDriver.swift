import AgentKernel
import CapgateHTTPClient
import Foundation

/// A driver that runs in a driver-host process (docs/drivers.md, "Driver hosts").
///
/// `execute` posts the reference's `ExecutionContext` to `<url>/v1/execute` over the shared
/// mTLS HTTP/2 channel and turns the answer into a `RawResult`, or into
/// `KernelError(.driverError, message)` with the host's message unchanged, so fallback,
/// traces and redaction behave exactly as for an in-process driver. Every other failure
/// (connect, TLS, identity, status, shape, size, timeout) is a DriverError starting
/// "Driver host '<id>': ". `timeout_s` bounds the whole call.
public final class HostDriver: Driver {
    public let driverID: String
    public let config: HostDriverConfig
    let channel: HostChannel

    public init(config: HostDriverConfig, pool: HostChannelPool) throws(HostDriverSetupError) {
        if let problem = config.validationError() { throw HostDriverSetupError("driver '\(config.id)': \(problem)") }
        self.driverID = config.id
        self.config = config
        self.channel = try pool.channel(for: config)
    }

    /// "Driver host '<id>': <reason>".
    func failure(_ reason: String) -> KernelError {
        KernelError(.driverError, "Driver host '\(driverID)': \(reason)")
    }

    var timeoutText: String { PyFloat.repr(config.timeoutSeconds) }

    public func execute(_ ctx: ExecutionContext) async throws -> RawResult {
        let body = HostWire.requestBody(driverID: driverID, context: ctx)
        let response = try await post("/v1/execute", body: body)
        guard response.status == 200 else { throw failure("HTTP \(response.status) from /v1/execute") }
        let answer: HostWire.Answer
        do throws(HostWire.DecodeError) {
            answer = try HostWire.decodeAnswer(response.body, maxBytes: config.maxResponseBytes)
        } catch {
            throw failure("malformed answer: \(error.reason)")
        }
        switch answer {
        case .result(let data, let metadata):
            return RawResult(capabilityID: ctx.capabilityID, data: data, metadata: metadata)
        case .error(_, let message):
            throw KernelError(.driverError, message)
        }
    }

    /// One request on the shared connection, the whole of it (connect included) bounded by
    /// `timeout_s`. Cancellation of the caller propagates as `CancellationError`.
    func post(_ path: String, body: [UInt8]) async throws -> HTTPClientResponse {
        let seconds = config.timeoutSeconds
        let deadline = ContinuousClock.now + .seconds(seconds)
        let channel = self.channel, maxBytes = config.maxResponseBytes
        let fullPath = channel.endpoint.pathPrefix + path
        let id = driverID, t = timeoutText
        let outcome = await DeadlineRace.run(seconds: seconds) { [self] () async throws -> HTTPClientResponse in
            let connection: HTTPClientConnection
            do {
                connection = try await channel.connection(deadline: deadline)
            } catch let e as HostChannel.Unavailable {
                throw failure(e.reason)
            }
            let remaining = deadline - .now
            guard remaining > .zero else { throw failure("no answer within \(t)s") }
            do {
                return try await connection.send(
                    method: "POST", path: fullPath, headers: [("content-type", "application/json")], body: body,
                    timeout: remaining, maxResponseBytes: maxBytes)
            } catch let error as HTTPClientError {
                switch error {
                case .responseTooLarge: throw failure("answer larger than \(maxBytes) bytes")
                case .timedOut: throw failure("no answer within \(t)s")
                default: throw failure(HostChannel.describe(error, identity: config.identity))
                }
            }
        }
        switch outcome {
        case .success(let response): return response
        case .failure(let error): throw error
        case .timedOut: throw KernelError(.driverError, "Driver host '\(id)': no answer within \(t)s")
        case .cancelled: throw CancellationError()
        }
    }
}
