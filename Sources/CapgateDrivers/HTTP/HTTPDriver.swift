import AgentKernel
import CCurl

/// The reference's `HTTPDriver` on libcurl: each operation maps to one configured endpoint
/// (docs/drivers.md, "HTTP driver").
///
/// - operation: `str(args.get("operation", capability_id))`; unknown -> DriverError;
/// - request: method upper-cased; `args` minus `operation` as query parameters for GET and
///   DELETE, as a JSON body otherwise; driver headers then endpoint headers; token
///   constraints are never sent;
/// - timeout: the endpoint's, else the driver's; it bounds inactivity (connecting, then
///   every wait for bytes), like the reference client's per-phase timeouts;
/// - answer: a 400-599 status reads at most 512 bytes and fails with 200 characters of
///   them; other statuses (3xx included: redirects are not followed) are decoded per the
///   endpoint's format, with `max_response_bytes` enforced while reading;
/// - `metadata = {status_code, url}`, the url as configured.
///
/// Every failure is a `KernelError(.driverError)` worded byte for byte like the reference,
/// so fallback, traces and the firewall's redaction of error text see the same strings.
/// Header values (secret ones included) never appear in any message.
public final class HTTPDriver: Driver {
    public let driverID: String
    private let config: HTTPDriverConfig
    /// Keyed by code point, like Python's dict of operation names.
    private let endpoints: [CodePointKey: HTTPEndpoint]
    private let loop: CurlMultiLoop

    public init(config: HTTPDriverConfig) throws {
        driverID = config.id
        self.config = config
        var map: [CodePointKey: HTTPEndpoint] = [:]
        for (op, e) in config.endpoints { map[CodePointKey(op)] = e }
        endpoints = map
        guard let loop = CurlMultiLoop(name: config.id) else {
            throw KernelError(.driverError, "HTTPDriver '\(config.id)': libcurl could not be initialised.")
        }
        self.loop = loop
    }

    deinit { loop.stop() }

    /// Requests currently inside libcurl (for tests: a cancelled invoke leaves none behind).
    var inFlightCount: Int { loop.inFlight.load(ordering: .relaxed) }

    public func execute(_ ctx: ExecutionContext) async throws -> RawResult {
        let operation = ctx.operation
        guard let endpoint = endpoints[CodePointKey(operation)] else {
            throw KernelError(.driverError, "HTTPDriver '\(driverID)' has no endpoint for operation='\(operation)'.")
        }
        let request = HTTPRequest(endpoint: endpoint, baseHeaders: config.headers, args: ctx.args)
        let options = TransferOptions(timeoutSeconds: endpoint.timeoutSeconds ?? config.timeoutSeconds,
                                      maxResponseBytes: config.maxResponseBytes, tls: config.tls)
        try Task.checkCancellation()
        guard let transfer = CurlTransfer(request, options) else {
            throw failure(endpoint.url, "libcurl refused the request options")
        }
        let url = endpoint.url
        switch await loop.perform(transfer) {
        case .cancelled:
            throw CancellationError()
        case .timedOut:
            // The reference client's timeout exceptions carry no text.
            throw failure(url, "")
        case .failed(let code, let message):
            throw failure(url, HTTPDriver.transportText(code, message))
        case .tooLarge:
            throw KernelError(.driverError, "HTTPDriver '\(driverID)': response from \(url) exceeded "
                              + "max_response_bytes (\(config.maxResponseBytes ?? 0)).")
        case .response(let status, let contentType, let body):
            let answer = try HTTPDriver.decodeResponse(status: status, contentType: contentType, body: body,
                                                       format: endpoint.responseFormat, driverID: driverID, url: url)
            return RawResult(capabilityID: ctx.capabilityID, data: answer.data, metadata: answer.metadata)
        }
    }

    private func failure(_ url: String, _ detail: String) -> KernelError {
        KernelError(.driverError, "HTTPDriver '\(driverID)': Request to \(url) failed: \(detail)")
    }

    /// The reference client's wording for the failures every deployment meets (a tool that
    /// is down, a name that does not resolve); libcurl's own message for the rest.
    static func transportText(_ code: CURLcode, _ message: String) -> String {
        switch code {
        case CURLE_COULDNT_CONNECT: return "All connection attempts failed"
        case CURLE_COULDNT_RESOLVE_HOST: return "[Errno -2] Name or service not known"
        default: return message
        }
    }
}
