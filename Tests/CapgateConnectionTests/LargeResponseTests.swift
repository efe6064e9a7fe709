import CapgateConnection
import CapgateHTTPClient
import Testing

/// Regression (found by capgate-bench, sidecar invoke 16x16): responses larger in total than
/// the write high-water mark (32 KiB) were produced up to the mark, flushed completely (the
/// loopback socket took it all, so no EAGAIN and no EPOLLOUT edge ever came), and the rest
/// stayed inside nghttp2 until the peer happened to send something. Output must keep being
/// produced while the socket accepts it.
@Suite("Large responses")
struct LargeResponseTests {
    @Test func sixteenConcurrentResponsesAboveTheHighWaterMark() async throws {
        let fixture = try TestServer()
        defer { fixture.stop() }
        let client = try fixture.client()
        defer { client.close() }
        let size = 40_000
        // A watchdog turns a stall into a failure instead of a hung test run: closing the
        // client fails the pending requests (send does not observe cancellation).
        let watchdog = Task {
            try await Task.sleep(for: .seconds(30))
            client.close()
        }
        defer { watchdog.cancel() }
        let sizes = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    guard let r = try? await client.send(method: "GET", path: "/big/\(size)"), r.status == 200 else { return -1 }
                    return r.body.count
                }
            }
            var all: [Int] = []
            for await n in group { all.append(n) }
            return all
        }
        #expect(sizes == Array(repeating: size, count: 16), "responses stalled: output stranded above the high-water mark")
    }
}
