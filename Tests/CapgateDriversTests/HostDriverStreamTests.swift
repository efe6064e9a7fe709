import AgentKernel
import CapgateConnection
import CapgateDrivers
import CapgateTesting
import Testing

/// `HostDriver.executeStream` against hand-made `/v1/execute_stream` answers, and the strict
/// stream-line decoder.
@Suite(.timeLimit(.minutes(2)))
struct HostDriverStreamTests {
    static func collect(_ driver: HostDriver) async -> (chunks: [JSONObject], error: String?) {
        var chunks: [JSONObject] = []
        do {
            for try await c in driver.executeStream(HostDriverTests.ctx) { chunks.append(c) }
            return (chunks, nil)
        } catch let e as KernelError {
            return (chunks, e.message)
        } catch {
            return (chunks, "\(type(of: error))")
        }
    }

    static func answering(_ status: Int, _ body: String) -> @Sendable (HTTPRequest) async -> HTTPResponse? {
        { request in
            request.path == "/v1/execute_stream" ? HTTPResponse(status: status, body: Array(body.utf8)) : nil
        }
    }

    @Test func chunksThenEnd() async throws {
        try await HostDriverTests.withHost(answer: Self.answering(200, "{\"chunk\":{\"a\":1}}\n{\"chunk\":{\"b\":\"x\"}}\n{\"end\":true}\n")) { pki, host in
            let driver = try HostDriver(config: HostDriverTests.config(pki, url: host.url), pool: HostChannelPool())
            let (chunks, error) = await Self.collect(driver)
            #expect(chunks == [["a": 1], ["b": "x"]])
            #expect(error == nil)
        }
    }

    @Test func anErrorLineKeepsTheHostsMessage() async throws {
        try await HostDriverTests.withHost(answer: Self.answering(200, "{\"chunk\":{\"a\":1}}\n{\"error\":{\"type\":\"DriverError\",\"message\":\"db gone\"}}\n")) { pki, host in
            let driver = try HostDriver(config: HostDriverTests.config(pki, url: host.url), pool: HostChannelPool())
            let (chunks, error) = await Self.collect(driver)
            #expect(chunks == [["a": 1]])
            #expect(error == "db gone")
        }
    }

    @Test func aTruncatedOrMalformedStreamIsADriverError() async throws {
        try await HostDriverTests.withHost(answer: Self.answering(200, "{\"chunk\":{\"a\":1}}\n")) { pki, host in
            let driver = try HostDriver(config: HostDriverTests.config(pki, url: host.url), pool: HostChannelPool())
            let (chunks, error) = await Self.collect(driver)
            #expect(chunks == [["a": 1]])
            #expect(error == "Driver host 'billing': stream truncated (no end line)")
        }
        try await HostDriverTests.withHost(answer: Self.answering(200, "{\"chunk\":[1]}\n")) { pki, host in
            let driver = try HostDriver(config: HostDriverTests.config(pki, url: host.url), pool: HostChannelPool())
            let (_, error) = await Self.collect(driver)
            #expect(error?.hasPrefix("Driver host 'billing': malformed answer: stream line must be") == true, "\(error ?? "")")
        }
        try await HostDriverTests.withHost(answer: Self.answering(500, "{}")) { pki, host in
            let driver = try HostDriver(config: HostDriverTests.config(pki, url: host.url), pool: HostChannelPool())
            let (_, error) = await Self.collect(driver)
            #expect(error == "Driver host 'billing': HTTP 500 from /v1/execute_stream")
        }
    }

    @Test func notStreamingIsReportedForTheKernelsFallback() async throws {
        try await HostDriverTests.withHost { pki, host in  // the test host answers 501 for InMemoryDriver
            let driver = try HostDriver(config: HostDriverTests.config(pki, url: host.url), pool: HostChannelPool())
            let (_, error) = await Self.collect(driver)
            #expect(error == "StreamingUnsupported")
        }
    }

    @Test func aSilentHostTimesOut() async throws {
        let silent: @Sendable (HTTPRequest) async -> HTTPResponse? = { _ in
            try? await Task.sleep(for: .seconds(120))
            return HTTPResponse(status: 200, body: [])
        }
        try await HostDriverTests.withHost(answer: silent) { pki, host in
            let driver = try HostDriver(config: HostDriverTests.config(pki, url: host.url, timeout: 0.3),
                                        pool: HostChannelPool())
            let started = ContinuousClock.now
            let (_, error) = await Self.collect(driver)
            #expect(error == "Driver host 'billing': no answer within 0.3s")
            // Bounded, not hung: the host would answer after 120 s; generous for a loaded machine.
            #expect(ContinuousClock.now - started < .seconds(60))
        }
    }

    @Test func streamLineDecoderIsStrict() throws {
        func decode(_ s: String) -> String {
            do { return "\(try HostWire.decodeStreamLine(Array(s.utf8), maxBytes: 100))" } catch { return "refused" }
        }
        #expect(decode(#"{"chunk":{"a":1}}"#) == "\(HostWire.StreamLine.chunk(["a": 1]))")
        #expect(decode(#"{"end":true}"#) == "\(HostWire.StreamLine.end)")
        #expect(decode(#"{"error":{"type":"T","message":"m"}}"#) == "\(HostWire.StreamLine.error(type: "T", message: "m"))")
        for bad in [#"{"end":false}"#, #"{"chunk":{},"end":true}"#, #"{"chunk":1}"#, #"{"error":{"type":"T"}}"#,
                    #"[1]"#, #"{"x":1}"#, "not json", "{\"chunk\":{\"s\":\"" + String(repeating: "a", count: 200) + "\"}}"] {
            #expect(decode(bad) == "refused", "\(bad)")
        }
    }
}
