import AgentKernel
import CapgateDrivers
import Testing

/// The sans-IO answer handling (HTTPResponse.swift) that the `http_response` fuzz target
/// drives: read limits chunk by chunk, and status/format -> result or error text.
struct HTTPResponseTests {
    func feed(_ body: inout HTTPResponseBody, _ chunks: [[UInt8]], status: Int) -> [Bool] {
        chunks.map { c in c.withUnsafeBytes { body.append($0, status: status) } }
    }

    @Test func anErrorBodyKeepsTheFirst512BytesAndStopsThere() {
        var body = HTTPResponseBody(maxResponseBytes: 10)
        #expect(feed(&body, [Array(repeating: 65, count: 300), Array(repeating: 66, count: 300)], status: 503)
            == [true, false])
        #expect(body.bytes.count == 512 && body.bytes.last == 66)
        #expect(body.snippetComplete && !body.tooLarge)
    }

    @Test func aBodyOverTheLimitStopsReadingAtTheChunkThatPassesIt() {
        var body = HTTPResponseBody(maxResponseBytes: 8)
        #expect(feed(&body, [[1, 2, 3, 4], [5, 6, 7, 8]], status: 200) == [true, true])
        #expect(!body.tooLarge)
        #expect(feed(&body, [[9]], status: 200) == [false])
        #expect(body.tooLarge && body.bytes.count == 9)
        var unlimited = HTTPResponseBody(maxResponseBytes: nil)
        #expect(feed(&unlimited, [Array(repeating: 0, count: 100_000)], status: 200) == [true])
    }

    @Test func statusAndFormatDecideTheAnswer() throws {
        let ok = try HTTPDriver.decodeResponse(status: 301, contentType: nil, body: Array(#"{"a":1}"#.utf8),
                                               format: .json, driverID: "d", url: "http://u")
        #expect(ok.data == ["a": 1] && ok.metadata == ["status_code": 301, "url": "http://u"])
        #expect(try HTTPDriver.decodeResponse(status: 204, contentType: nil, body: [], format: .json,
                                              driverID: "d", url: "u").data == .null)
        #expect(try HTTPDriver.decodeResponse(status: 200, contentType: nil, body: [0x61, 0xFF], format: .text,
                                              driverID: "d", url: "u").data == "a\u{FFFD}")
        #expect(throws: KernelError(.driverError, "HTTPDriver 'd': HTTP 404 from u: " + String(repeating: "é", count: 200))) {
            try HTTPDriver.decodeResponse(status: 404, contentType: nil, body: Array(String(repeating: "é", count: 256).utf8),
                                          format: .json, driverID: "d", url: "u")
        }
        #expect(throws: KernelError(.driverError, "HTTPDriver 'd': non-JSON response from u (content-type: unknown): <p>")) {
            try HTTPDriver.decodeResponse(status: 200, contentType: "", body: Array("<p>".utf8), format: .json,
                                          driverID: "d", url: "u")
        }
    }
}
