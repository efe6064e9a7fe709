import AgentKernel

/// Bytes of an error body read for the message (the reference's bound); the message keeps
/// 200 characters of them.
let errorBodyReadLimit = 512

/// The body of a tool server's answer as it arrives, with the limits applied while reading
/// (docs/drivers.md, "HTTP driver"). Sans-IO so the fuzzer (`http_response`) and the tests
/// drive it without libcurl, which has already parsed the status line, headers, chunking
/// and content encoding when bytes reach here.
public struct HTTPResponseBody: Sendable {
    public let maxResponseBytes: Int?
    /// For a status of 400-599 only the first `errorBodyReadLimit` bytes; otherwise
    /// everything read (one chunk past `maxResponseBytes` at most, then reading stops).
    public private(set) var bytes: [UInt8] = []
    /// The body passed `maxResponseBytes`.
    public private(set) var tooLarge = false
    /// An error body reached `errorBodyReadLimit`: reading stopped on purpose, so the
    /// transport's write error that follows is not a failure.
    public private(set) var snippetComplete = false

    public init(maxResponseBytes: Int?) { self.maxResponseBytes = maxResponseBytes }

    /// Takes one chunk of a response with `status`; false means stop reading now (the
    /// snippet is complete, or the body is too large).
    public mutating func append(_ chunk: UnsafeRawBufferPointer, status: Int) -> Bool {
        if (400...599).contains(status) {
            let room = errorBodyReadLimit - bytes.count
            bytes.append(contentsOf: chunk.prefix(max(room, 0)))
            if bytes.count >= errorBodyReadLimit {
                snippetComplete = true
                return false  // enough for the message: abort instead of buffering the rest
            }
            return true
        }
        bytes.append(contentsOf: chunk)
        if let limit = maxResponseBytes, bytes.count > limit {
            tooLarge = true
            return false
        }
        return true
    }
}

extension HTTPDriver {
    /// A complete answer -> the result's `data` and `metadata`, or the reference's
    /// DriverError: a 400-599 status fails with 200 characters of the body; other statuses
    /// (3xx included: redirects are not followed) are decoded per `format`. `text`: UTF-8
    /// with U+FFFD for invalid bytes. `json`: empty -> null; otherwise the strict reader
    /// (docs/json.md), so a body it refuses is reported as non-JSON.
    public static func decodeResponse(status: Int, contentType: String?, body: [UInt8], format: HTTPResponseFormat,
                                      driverID: String, url: String) throws(KernelError)
        -> (data: JSONValue, metadata: JSONObject) {
        if (400...599).contains(status) {
            let snippet = PyString.prefix(String(decoding: body.prefix(errorBodyReadLimit), as: UTF8.self), 200)
            throw KernelError(.driverError, "HTTPDriver '\(driverID)': HTTP \(status) from \(url): \(snippet)")
        }
        let data: JSONValue
        switch format {
        case .text:
            data = .string(String(decoding: body, as: UTF8.self))
        case .json:
            if body.isEmpty {
                data = .null
            } else {
                do throws(JSONParseError) {
                    data = try JSONParser.parse(body)
                } catch {
                    let snippet = String(decoding: body.prefix(200), as: UTF8.self)
                    let ct = (contentType?.isEmpty ?? true) ? "unknown" : contentType!
                    throw KernelError(.driverError, "HTTPDriver '\(driverID)': non-JSON response from \(url) "
                                      + "(content-type: \(ct)): \(snippet)")
                }
            }
        }
        return (data, ["status_code": .int(status), "url": .string(url)])
    }
}
