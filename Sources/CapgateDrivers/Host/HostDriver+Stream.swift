import AgentKernel
import CapgateHTTPClient
import Synchronization

/// `invoke_stream` through a driver host (docs/drivers.md, `/v1/execute_stream`): the host's
/// chunks as they arrive. `501` means the host's driver cannot stream: the kernel then serves
/// this driver with one `execute` (`StreamingUnsupported`). `timeout_s` bounds the connect and
/// every wait for the next line, so a dead or stalled host ends the stream with a DriverError;
/// a stream without its terminal line is a DriverError too. When the kernel stops reading
/// (its client went away) the HTTP/2 stream is reset, which tells the host to stop.
extension HostDriver: StreamingDriver {
    public func executeStream(_ ctx: ExecutionContext) -> AsyncThrowingStream<JSONObject, any Error> {
        let (chunks, out) = AsyncThrowingStream<JSONObject, any Error>.makeStream()
        let task = Task { [self] in
            do {
                try await pump(ctx, into: out)
            } catch {
                out.finish(throwing: error)
            }
        }
        out.onTermination = { _ in task.cancel() }
        return chunks
    }

    private func pump(_ ctx: ExecutionContext, into out: AsyncThrowingStream<JSONObject, any Error>.Continuation)
        async throws
    {
        let seconds = config.timeoutSeconds, t = timeoutText, id = driverID
        let deadline = ContinuousClock.now + .seconds(seconds)
        let channel = self.channel
        let outcome = await DeadlineRace.run(seconds: seconds) { [self] () async throws -> HTTPClientConnection in
            do {
                return try await channel.connection(deadline: deadline)
            } catch let e as HostChannel.Unavailable {
                throw failure(e.reason)
            }
        }
        let connection: HTTPClientConnection
        switch outcome {
        case .success(let c): connection = c
        case .failure(let error): throw error
        case .timedOut: throw KernelError(.driverError, "Driver host '\(id)': no answer within \(t)s")
        case .cancelled: throw CancellationError()
        }
        let events = connection.stream(path: channel.endpoint.pathPrefix + "/v1/execute_stream",
                                       headers: [("content-type", "application/json")],
                                       body: HostWire.requestBody(driverID: driverID, context: ctx))
        // Inactivity watchdog: no head or line within timeout_s ends the stream.
        let lastActivity = ActivityClock()
        let reader = Task { [self] in
            var status = 0
            var errorBody: [UInt8] = []
            var splitter = LineSplitter(maxLineBytes: config.maxResponseBytes)
            do {
                for try await event in events {
                    lastActivity.touch()
                    switch event {
                    case .head(let s, _):
                        status = s
                        if s == 501 { throw StreamingUnsupported() }
                    case .data(let bytes) where status != 200:
                        errorBody += bytes
                        if errorBody.count > 512 { throw failure("HTTP \(status) from /v1/execute_stream") }
                    case .data(let bytes):
                        let lines: [[UInt8]]
                        do { lines = try splitter.feed(bytes) } catch {
                            throw failure("answer larger than \(config.maxResponseBytes) bytes")
                        }
                        for line in lines where !line.isEmpty {
                            let decoded: HostWire.StreamLine
                            do throws(HostWire.DecodeError) {
                                decoded = try HostWire.decodeStreamLine(line, maxBytes: config.maxResponseBytes)
                            } catch {
                                throw failure("malformed answer: \(error.reason)")
                            }
                            switch decoded {
                            case .chunk(let chunk): out.yield(chunk)
                            case .end:
                                out.finish()
                                return
                            case .error(_, let message): throw KernelError(.driverError, message)
                            }
                        }
                    }
                }
                if status != 200 { throw failure("HTTP \(status) from /v1/execute_stream") }
                throw failure("stream truncated (no end line)")
            } catch let e as HTTPClientError {
                throw failure(HostChannel.describe(e, identity: config.identity))
            }
        }
        let failureText = failure("no answer within \(t)s")
        let watchdog = Task {
            while !Task.isCancelled {
                let left = Duration.seconds(seconds) - lastActivity.idle
                if left <= .zero {
                    out.finish(throwing: failureText)  // first: the consumer sees the timeout
                    reader.cancel()
                    return
                }
                try? await Task.sleep(for: min(left, .milliseconds(100)))
            }
        }
        defer { watchdog.cancel() }
        // Cancelling this task (the kernel stopped) cancels the reader, whose iteration resets
        // the HTTP/2 stream.
        try await withTaskCancellationHandler {
            try await reader.value
        } onCancel: {
            reader.cancel()
        }
    }
}

/// When the host last showed life (head or DATA), for the inactivity watchdog.
final class ActivityClock: Sendable {
    private let last = Mutex(ContinuousClock.now)
    func touch() { last.withLock { $0 = .now } }
    var idle: Duration { ContinuousClock.now - last.withLock { $0 } }
}
