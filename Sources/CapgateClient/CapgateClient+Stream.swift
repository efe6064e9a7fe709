import AgentKernel
import CapgateHTTPClient
import CapgateWire

extension CapgateClient {
    /// `POST /v1/invoke_stream` (docs/design.md §5; method, path and body from the verb list,
    /// `Verb.invokeStream` and `WireRequest`): the frames as the server sends them, the
    /// last with `isFinal`. An error before the first frame is thrown from the first `next()`
    /// as the envelope's `CapgateClientError.server`; an error line after frames is thrown the
    /// same way after them. Stopping the iteration (or cancelling its task) resets the HTTP/2
    /// stream, which stops the driver on the server.
    public func invokeStream(_ token: CapabilityToken, args: JSONObject = [:], responseMode: ResponseMode = .summary,
                             principalID: String? = nil, maxLineBytes: Int = 16 << 20)
        -> AsyncThrowingStream<Frame, any Error>
    {
        let request = WireRequest.invokeStream(token: token, args: args, responseMode: responseMode,
                                               claimedPrincipalID: principalID)
        let events = connection.stream(method: request.verb.method, path: request.verb.path,
                                       headers: [(name: "content-type", value: "application/json")],
                                       body: request.body.serializedBytes())
        let reader = FrameStreamReader(events.makeAsyncIterator(), maxLineBytes: maxLineBytes)
        return AsyncThrowingStream(unfolding: { try await reader.next() })
    }

    /// One line: a Frame, or a thrown error line / envelope.
    static func frame(_ line: [UInt8], status: Int = 200) throws -> Frame {
        let value: JSONValue
        do { value = try JSONParser.parse(line) } catch {
            throw CapgateClientError.badResponse(status: status, "line is not JSON: \(error)")
        }
        if let e = value["error"] {
            throw CapgateClientError.server(status: status, type: e["type"]?.stringValue ?? "AgentKernelError",
                                            code: e["code"]?.stringValue ?? "internal",
                                            reasonCode: e["reason_code"]?.stringValue,
                                            message: e["message"]?.stringValue ?? "")
        }
        do { return try Frame(json: value) } catch {
            throw CapgateClientError.badResponse(status: status, "line is not a Frame: \(error.description)")
        }
    }
}

/// The NDJSON reader behind `invokeStream`. WHY @unchecked Sendable: `AsyncThrowingStream`'s
/// unfolding closure is called by one consumer at a time, never concurrently.
final class FrameStreamReader: @unchecked Sendable {
    private var iterator: AsyncThrowingStream<HTTPClientStreamEvent, any Error>.AsyncIterator
    private let maxLineBytes: Int
    private var splitter: LineSplitter
    private var status = 0
    private var errorBody: [UInt8] = []
    private var ready: [Frame] = []
    private var pendingError: (any Error)?
    private var sawFinal = false
    private var done = false

    init(_ iterator: AsyncThrowingStream<HTTPClientStreamEvent, any Error>.AsyncIterator, maxLineBytes: Int) {
        self.iterator = iterator
        self.maxLineBytes = maxLineBytes
        self.splitter = LineSplitter(maxLineBytes: maxLineBytes)
    }

    func next() async throws -> Frame? {
        while true {
            if !ready.isEmpty { return ready.removeFirst() }
            if let e = pendingError {
                pendingError = nil
                done = true
                throw e
            }
            if done { return nil }
            let event: HTTPClientStreamEvent?
            do {
                event = try await iterator.next()
            } catch {
                done = true
                throw CapgateClientError.transport(String(describing: error))
            }
            switch event {
            case .head(let s, _)?:
                status = s
            case .data(let bytes)? where status != 200:
                errorBody += bytes
                if errorBody.count > maxLineBytes {
                    done = true
                    throw CapgateClientError.badResponse(status: status, "error body too large")
                }
            case .data(let bytes)?:
                do {
                    for line in try splitter.feed(bytes) where !line.isEmpty {
                        let frame = try CapgateClient.frame(line)
                        sawFinal = sawFinal || frame.isFinal
                        ready.append(frame)
                    }
                } catch let e as LineSplitter.LineTooLong {
                    pendingError = CapgateClientError.badResponse(status: status, "line longer than \(e.limit) bytes")
                } catch {
                    pendingError = error  // an error line: after the frames before it
                }
            case nil:
                done = true
                if status != 200 {
                    _ = try CapgateClient.frame(errorBody, status: status)  // throws the envelope
                    throw CapgateClientError.badResponse(status: status, "error without an envelope")
                }
                if !sawFinal || !splitter.remainder.isEmpty {
                    throw CapgateClientError.badResponse(status: status, "stream ended without a final frame")
                }
                return nil
            }
        }
    }
}
