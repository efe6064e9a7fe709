import AgentKernel
import CapgateDrivers

/// Target: the HTTP driver's handling of what a tool server answers (docs/drivers.md, "HTTP
/// driver"): the body read in chunks with its limits (`HTTPResponseBody`), then status ->
/// result or DriverError and the JSON/text decoding (`HTTPDriver.decodeResponse`). The status
/// line, headers, chunking and gzip are libcurl's (C, fuzzed upstream): its outputs (a status,
/// a content type, body chunks) are what this target chooses.
///
/// Input: byte 0 the status (an index into `statuses`, else `byte * 3`); byte 1 the format
/// (low bit: text) and `max_response_bytes` (`(byte >> 1) * 16`, 0 = none); byte 2 the
/// content type's length, then the content type; byte 3 after it the chunk size (0 = one
/// chunk); the rest is the body.
///
/// Invariants: an error body (400-599) keeps exactly the first 512 bytes and stops reading
/// there; any other body is kept whole unless it passes the limit, which is flagged; an error
/// status fails with the reference's message and at most 200 characters of the body; a JSON
/// answer is exactly what the strict reader reads (empty -> null) or fails naming the content
/// type; text is the UTF-8 decoding; metadata is `{status_code, url}`.
enum FuzzHTTPResponse {
    static let statuses = [200, 201, 204, 299, 300, 301, 304, 399, 400, 404, 413, 429, 499, 500, 502, 599, 600, 100, 0]
    static let driverID = "d"
    static let url = "http://tool.test/x"

    static func run(_ data: UnsafeRawBufferPointer) {
        guard data.count >= 4 else { return }
        let status = Int(data[0]) < statuses.count ? statuses[Int(data[0])] : Int(data[0]) * 3
        let format: HTTPResponseFormat = data[1] & 1 == 0 ? .json : .text
        let limit = Int(data[1] >> 1) * 16
        let maxBytes: Int? = limit == 0 ? nil : limit
        let ctLength = min(Int(data[2]), data.count - 4)
        let contentType: String? = ctLength == 0 ? nil : String(decoding: data[3..<(3 + ctLength)], as: UTF8.self)
        let chunkSize = Int(data[3 + ctLength])
        let full = Array(data[(4 + ctLength)...])

        var body = HTTPResponseBody(maxResponseBytes: maxBytes)
        var start = 0
        repeat {
            let end = chunkSize == 0 ? full.count : min(start + chunkSize, full.count)
            let more = full[start..<end].withUnsafeBytes { body.append($0, status: status) }
            start = end
            if !more {
                if !body.tooLarge && !body.snippetComplete { fuzzFailure("stopped reading without a reason") }
                break
            }
        } while start < full.count
        let isError = (400...599).contains(status)
        if isError {
            if body.bytes != Array(full.prefix(512)) { fuzzFailure("error body is not the first 512 bytes") }
            if body.snippetComplete != (full.count >= 512) { fuzzFailure("snippetComplete wrong at \(full.count)") }
            if body.tooLarge { fuzzFailure("an error body flagged too large") }
        } else {
            if body.snippetComplete { fuzzFailure("snippet flagged on status \(status)") }
            let over = maxBytes.map { full.count > $0 } ?? false
            if body.tooLarge != over { fuzzFailure("tooLarge \(body.tooLarge) for \(full.count) bytes, limit \(limit)") }
            if body.tooLarge {
                if body.bytes.count > maxBytes! + max(chunkSize, 1) && chunkSize != 0 {
                    fuzzFailure("read \(body.bytes.count) bytes, more than one chunk past the limit")
                }
                return  // the driver answers "exceeded max_response_bytes" without decoding
            }
            if body.bytes != full { fuzzFailure("body differs from what was sent") }
        }
        decode(status: status, contentType: contentType, body: body.bytes, format: format)
    }

    static func decode(status: Int, contentType: String?, body: [UInt8], format: HTTPResponseFormat) {
        let answer: (data: JSONValue, metadata: JSONObject)
        do throws(KernelError) {
            answer = try HTTPDriver.decodeResponse(status: status, contentType: contentType, body: body,
                                                   format: format, driverID: driverID, url: url)
        } catch {
            if error.kind != .driverError { fuzzFailure("failed with \(error.kind), not DriverError") }
            if (400...599).contains(status) {
                let head = "HTTPDriver '\(driverID)': HTTP \(status) from \(url): "
                // Bytes, not Characters: a body starting with a combining mark joins the space.
                guard error.message.utf8.starts(with: head.utf8) else { fuzzFailure("error status message: \(error.message)") }
                let snippet = String(decoding: Array(error.message.utf8.dropFirst(head.utf8.count)), as: UTF8.self)
                if snippet.unicodeScalars.count > 200 { fuzzFailure("snippet of \(snippet.unicodeScalars.count) characters") }
                let decoded = String(decoding: body, as: UTF8.self)
                if !decoded.unicodeScalars.starts(with: snippet.unicodeScalars) {
                    fuzzFailure("snippet is not the start of the body")
                }
                return
            }
            if format != .json || body.isEmpty { fuzzFailure("\(format) answer of \(body.count) bytes failed: \(error)") }
            if (try? JSONParser.parse(body)) != nil { fuzzFailure("JSON the strict reader reads was refused") }
            let ct = (contentType?.isEmpty ?? true) ? "unknown" : contentType!
            let head = "HTTPDriver '\(driverID)': non-JSON response from \(url) (content-type: \(ct)): "
            if Array(error.message.utf8) != Array((head + String(decoding: body.prefix(200), as: UTF8.self)).utf8) {
                fuzzFailure("non-JSON message: \(error.message)")
            }
            return
        }
        if (400...599).contains(status) { fuzzFailure("status \(status) succeeded") }
        if answer.metadata != ["status_code": .int(status), "url": .string(url)] {
            fuzzFailure("metadata \(answer.metadata)")
        }
        switch format {
        case .text:
            if answer.data != .string(String(decoding: body, as: UTF8.self)) { fuzzFailure("text is not the UTF-8 decoding") }
        case .json:
            let expected: JSONValue? = body.isEmpty ? .null : (try? JSONParser.parse(body))
            if answer.data != expected { fuzzFailure("JSON answer differs from the strict reader's") }
        }
    }
}
