import AgentKernel
import CapgateClient
import CapgateConnection
import CapgateHTTPClient
import CapgateCore
import CapgateServer
import CapgateTesting
import Foundation
import Glibc
import Synchronization
import Testing

/// A streaming driver whose behaviour depends on the capability it serves.
final class GatewayStreamDriver: StreamingDriver {
    let driverID: String
    init(driverID: String = "stream") { self.driverID = driverID }
    /// Set when a `stream.hang` stream was terminated by the kernel (client reset).
    let hangCancelled = Atomic<Bool>(false)
    /// Chunks handed out for `stream.flood`.
    let floodPulled = Atomic<Int>(0)
    static let floodChunk: JSONObject = ["pad": .string(String(repeating: "ab ", count: 10_000))]

    func execute(_ ctx: ExecutionContext) async throws -> RawResult {
        RawResult(capabilityID: ctx.capabilityID, data: ["unused": true])
    }

    func executeStream(_ ctx: ExecutionContext) -> AsyncThrowingStream<JSONObject, any Error> {
        let step = Mutex(0)
        let cid = ctx.capabilityID
        return AsyncThrowingStream { [self] in
            let i = step.withLock { s in defer { s += 1 }; return s }
            switch cid {
            case "stream.secret":
                let chunks: [JSONObject] = [
                    ["text": .string(String(repeating: "x", count: 300) + " write to ali")],
                    ["text": .string("ce@example.com today " + String(repeating: "y ", count: 150))],
                    ["text": "tail"],
                ]
                return i < chunks.count ? chunks[i] : nil
            case "stream.fail_mid":
                if i == 0 { return ["text": "first"] }
                throw KernelError(.driverError, "upstream lost, page ops@example.com")
            case "stream.flood":
                guard i < 20_000 else { return nil }
                floodPulled.add(1, ordering: .relaxed)
                return GatewayStreamDriver.floodChunk
            case "stream.fail_first":
                throw KernelError(.driverError, "cannot reach upstream")
            default:  // stream.hang: one chunk, then wait until cancelled
                if i == 0 { return ["text": "started"] }
                do {
                    try await Task.sleep(for: .seconds(60))
                } catch {
                    hangCancelled.store(true, ordering: .relaxed)
                    throw error
                }
                return nil
            }
        }
    }
}

/// `/v1/invoke_stream` through the whole sidecar on loopback (docs/design.md §5): NDJSON frames
/// read by curl, redaction across chunks, errors before and after the first frame, a client
/// RST_STREAM stopping the driver, and the fallback for a driver that cannot stream.
@Suite(.timeLimit(.minutes(2)))
struct InvokeStreamGatewayTests {
    static let curl = "/usr/bin/curl"
    static let capabilities = ["stream.secret", "stream.fail_mid", "stream.fail_first", "stream.hang", "stream.flood"]

    static func configure(_ c: inout ServerConfig) {
        for id in capabilities {
            c.capabilities.append(.init(capability: Capability(
                capabilityID: id, name: id, description: "streamed test data", safetyClass: .read, tags: ["stream"]),
                drivers: ["stream"]))
        }
    }

    static func body(_ token: CapabilityToken, mode: String = "table") -> String {
        let v: JSONValue = ["token": token.json, "args": ["note": "from erin@example.com"], "response_mode": .string(mode)]
        return String(decoding: v.serializedBytes(), as: UTF8.self)
    }

    static func curlStream(_ gw: GatewayFixture, _ body: String) async throws -> (status: String, lines: [JSONValue]) {
        let pki = gw.stateDir + "/pki"
        let r = try await runProcess(curl, [
            "--silent", "--show-error", "-N", "--http2", "--max-time", "20",
            "--cacert", pki + "/ca.pem", "--cert", pki + "/agents/alice.pem", "--key", pki + "/agents/alice.key",
            "-H", "content-type: application/json", "-d", body,
            "-w", "\n%{http_code} %{http_version} %{content_type}",
            "https://localhost:\(gw.port)/v1/invoke_stream",
        ])
        #expect(r.status == 0, "curl: \(r.stderr)")
        var lines = r.stdout.split(separator: "\n").map(String.init)
        let status = lines.popLast() ?? ""
        return (status, try lines.map { try JSONParser.parse($0) })
    }

    @Test func framesOverCurlErrorsAndFallback() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.curl), "curl is missing (apt-get install curl)")
        let driver = GatewayStreamDriver()
        try await withGateway(configure: Self.configure) { gw in
            gw.kernel.registerDriver(driver)
            let alice = try gw.client("alice")
            func token(_ id: String) async throws -> CapabilityToken {
                try await alice.grantCapability(Demo.request(id), justification: "").token
            }

            // A secret split across chunks never leaves; one frame per chunk plus the final marker.
            let (status, lines) = try await Self.curlStream(gw, Self.body(try await token("stream.secret")))
            #expect(status == "200 2 application/x-ndjson")
            #expect(lines.count == 4)
            #expect(lines.map { $0["is_final"]?.boolValue } == [false, false, false, true])
            let text = lines.compactMap { $0["table_preview"]?.arrayValue?.first?["text"]?.stringValue }.joined()
            #expect(!text.contains("alice") && !text.contains("example.com") && text.contains("[REDACTED]"), "\(text)")
            #expect(text.hasSuffix("tail"))
            let actionID = try #require(lines.first?["action_id"]?.stringValue)
            let trace = try await alice.explain(actionID: actionID)
            #expect(trace.error == nil && trace.driverID == "stream" && trace.args["note"] == "from [REDACTED]")

            // An error after the first frame: a final error line (the envelope's inner object).
            let (s2, l2) = try await Self.curlStream(gw, Self.body(try await token("stream.fail_mid")))
            #expect(s2.hasPrefix("200 2"))
            #expect(l2.count == 2)
            // "first" is shorter than the redactor's overlap: held back, and lost with the error
            // (the reference's apply_stream flushes only on a final chunk).
            #expect(l2.first?["table_preview"]?.arrayValue?.first?["text"] == "")
            let err = try #require(l2.last?["error"])
            #expect(err["code"] == "driver_error" && err["type"] == "DriverError")
            #expect(err["message"] == "upstream lost, page [REDACTED]")

            // An error before the first frame: the normal envelope and status.
            let (s3, l3) = try await Self.curlStream(gw, Self.body(try await token("stream.fail_first")))
            #expect(s3.hasPrefix("502 2 application/json"))
            #expect(l3.first?["error"]?["message"] == "cannot reach upstream")

            // Checks before the kernel: a forged token is the 401 envelope, a dry run a 400.
            var forged = try await token("stream.secret")
            forged.signature = String(repeating: "0", count: 64)
            let (s4, l4) = try await Self.curlStream(gw, Self.body(forged))
            #expect(s4.hasPrefix("401 2"))
            #expect(l4.first?["error"]?["code"] == "token_invalid")
            let dry = #"{"token": \#(String(decoding: try await token("stream.secret").json.serializedBytes(), as: UTF8.self)), "dry_run": true}"#
            let (s5, _) = try await Self.curlStream(gw, dry)
            #expect(s5.hasPrefix("400 2"))

            // A driver that cannot stream: one final frame from execute, with a handle.
            let billing = try await alice.grantCapability(Demo.request("billing.list_invoices"), justification: "").token
            let (s6, l6) = try await Self.curlStream(gw, Self.body(billing, mode: "summary")
                .replacingOccurrences(of: #""note""#, with: #""operation": "list_invoices", "x""#))
            #expect(s6.hasPrefix("200 2 application/x-ndjson"))
            #expect(l6.count == 1)
            #expect(l6.first?["is_final"] == true && l6.first?["handle"]?["handle_id"]?.stringValue != nil)
        }
    }

    @Test func aClientResetStopsTheDriverAndLeavesOneTrace() async throws {
        let driver = GatewayStreamDriver()
        try await withGateway(configure: Self.configure) { gw in
            gw.kernel.registerDriver(driver)
            let alice = try gw.client("alice")
            let token = try await alice.grantCapability(Demo.request("stream.hang"), justification: "").token
            let tracesBefore = gw.kernel.listTraces().count
            // The client's deadline resets the stream (RST_STREAM CANCEL) after the first frame
            // (3 s: the first frame is produced at once; the margin is for a loaded machine).
            do {
                _ = try await alice.connection.send(path: "/v1/invoke_stream",
                                                    headers: [(name: "content-type", value: "application/json")],
                                                    body: Array(Self.body(token).utf8), timeout: .seconds(3))
                Issue.record("the stream should not end by itself")
            } catch {
                #expect((error as? HTTPClientError) == .timedOut, "\(error)")
            }
            for _ in 0..<200 where !driver.hangCancelled.load(ordering: .relaxed) {
                try await Task.sleep(for: .milliseconds(10))
            }
            let cancelled = driver.hangCancelled.load(ordering: .relaxed)
            #expect(cancelled)
            for _ in 0..<100 where gw.kernel.listTraces().count == tracesBefore { try await Task.sleep(for: .milliseconds(10)) }
            let traces = gw.kernel.listTraces().filter { $0.capabilityID == "stream.hang" }
            #expect(traces.count == 1)
            #expect(traces.first?.error == nil)  // a frame was produced before the reset
            // The connection is still usable.
            #expect(try await alice.stats().invocations >= 1)
        }
    }

    /// A reader that barely reads (curl at 2 KB/s) stalls the driver: once the socket buffers,
    /// the write high-water mark and the stream's queue are full, no further chunk is pulled.
    @Test func aSlowReaderStallsTheDriver() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.curl), "curl is missing (apt-get install curl)")
        let driver = GatewayStreamDriver()
        try await withGateway(configure: Self.configure) { gw in
            gw.kernel.registerDriver(driver)
            let alice = try gw.client("alice")
            let token = try await alice.grantCapability(Demo.request("stream.flood"), justification: "").token
            let pki = gw.stateDir + "/pki"
            let curl = Process()
            curl.executableURL = URL(fileURLWithPath: Self.curl)
            curl.arguments = [
                "--silent", "-N", "--http2", "--limit-rate", "2K", "--max-time", "60", "-o", "/dev/null",
                "--cacert", pki + "/ca.pem", "--cert", pki + "/agents/alice.pem", "--key", pki + "/agents/alice.key",
                "-H", "content-type: application/json", "-d", Self.body(token),
                "https://localhost:\(gw.port)/v1/invoke_stream",
            ]
            try curl.run()
            defer { if curl.isRunning { kill(curl.processIdentifier, SIGKILL) } }
            // Wait until the driver stops being asked for chunks (stable for 1 s).
            var last = -1, stableSince = ContinuousClock.now
            let started = ContinuousClock.now
            while ContinuousClock.now - started < .seconds(40) {
                try await Task.sleep(for: .milliseconds(100))
                let now = driver.floodPulled.load(ordering: .relaxed)
                if now != last { last = now; stableSince = ContinuousClock.now }
                if now > 0 && ContinuousClock.now - stableSince > .seconds(1) { break }
            }
            // Each chunk is a ~30 KB line: a stall well below the 20,000 the driver would give.
            #expect(last > 0 && last < 2_000, "pulled \(last) chunks")
            #expect(ContinuousClock.now - stableSince > .seconds(1), "the driver never stalled (\(last) chunks)")
            // The reader goes away: the stalled producer is released and the stream traced once.
            kill(curl.processIdentifier, SIGKILL)
            try await runBlocking { curl.waitUntilExit() }
            func floodTraces() -> [ActionTrace] { gw.kernel.listTraces().filter { $0.capabilityID == "stream.flood" } }
            for _ in 0..<300 where floodTraces().isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            #expect(floodTraces().count == 1)
            #expect(floodTraces().first?.error == nil)
            // invoke_stream takes the invoke body: the same body cap.
            let handler = KernelRequestHandler(service: gw.gateway.service, expiry: gw.gateway.expiry,
                                               limits: GatewayLimits())
            #expect(handler.routeBodyCaps["/v1/invoke_stream"] == 256 * 1024)
            #expect(handler.routeBodyCaps["/v1/invoke"] == 256 * 1024)
        }
    }

    /// The Swift client's `invokeStream`: frames as they come, errors before and after the first
    /// frame as `CapgateClientError.server`, and a consumer that stops early resets the stream.
    @Test func theSwiftClientStreams() async throws {
        let driver = GatewayStreamDriver()
        try await withGateway(configure: Self.configure) { gw in
            gw.kernel.registerDriver(driver)
            let alice = try gw.client("alice")
            func token(_ id: String) async throws -> CapabilityToken {
                try await alice.grantCapability(Demo.request(id), justification: "").token
            }
            var frames: [Frame] = []
            for try await f in alice.invokeStream(try await token("stream.secret"), responseMode: .table) { frames.append(f) }
            #expect(frames.map(\.isFinal) == [false, false, false, true])
            let text = frames.compactMap { $0.tablePreview.first?["text"]?.stringValue }.joined()
            #expect(!text.contains("example.com") && text.contains("[REDACTED]"))

            do {
                for try await _ in alice.invokeStream(try await token("stream.fail_first")) {}
                Issue.record("expected an error")
            } catch let e as CapgateClientError {
                guard case .server(let status, _, let code, _, let message) = e else { throw e }
                #expect(status == 502 && code == "driver_error" && message == "cannot reach upstream")
            }

            var before = 0
            do {
                for try await _ in alice.invokeStream(try await token("stream.fail_mid")) { before += 1 }
                Issue.record("expected an error line")
            } catch let e as CapgateClientError {
                guard case .server(let status, _, let code, _, _) = e else { throw e }
                #expect(status == 200 && code == "driver_error")
            }
            #expect(before == 1)

            // Stop after the first frame: the stream is reset and the driver stops.
            for try await _ in alice.invokeStream(try await token("stream.hang")) { break }
            for _ in 0..<300 where !driver.hangCancelled.load(ordering: .relaxed) {
                try await Task.sleep(for: .milliseconds(10))
            }
            let cancelled = driver.hangCancelled.load(ordering: .relaxed)
            #expect(cancelled)
            for _ in 0..<100 where gw.kernel.listTraces().filter({ $0.capabilityID == "stream.hang" }).isEmpty {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(gw.kernel.listTraces().filter { $0.capabilityID == "stream.hang" }.count == 1)
        }
    }

    /// The same verb answered whole (`KernelService.handle`, the `RequestHandler` call without
    /// a responder): the lines the stream would carry in one NDJSON body, the envelope before
    /// the first frame, a final error line after it; the checks before the kernel are the
    /// verb's (a dry run refused, `unknown_verb` for a suffix).
    @Test func theWholeAnswerCollectsTheLines() async throws {
        try await withGateway(configure: Self.configure) { gw in
            gw.kernel.registerDriver(GatewayStreamDriver())
            let alice = try gw.client("alice")
            let service = gw.gateway.service
            func answer(_ id: String, dryRun: Bool = false, path: String = "/v1/invoke_stream") async throws
                -> (HTTPResponse, [JSONValue])
            {
                let token = try await alice.grantCapability(Demo.request(id), justification: "").token
                var body: JSONObject = ["token": token.json, "response_mode": "table"]
                if dryRun { body["dry_run"] = true }
                let r = await service.handle(HTTPRequest(method: "POST", path: path, contentType: "application/json",
                                                         body: JSONValue.object(body).serializedBytes()),
                                             identity: "spiffe://capgate.local/agent/alice")
                let lines = try String(decoding: r.body, as: UTF8.self).split(separator: "\n").map {
                    try JSONParser.parse(String($0))
                }
                return (r, lines)
            }
            let (ok, frames) = try await answer("stream.secret")
            #expect(ok.status == 200 && ok.headers.contains { $0.name == "content-type" && $0.value == "application/x-ndjson" })
            #expect(frames.map { $0["is_final"]?.boolValue } == [false, false, false, true])
            let text = String(decoding: ok.body, as: UTF8.self)
            #expect(!text.contains("example.com") && text.contains("[REDACTED]"))

            let (mid, midLines) = try await answer("stream.fail_mid")
            #expect(mid.status == 200 && midLines.count == 2 && midLines.last?["error"]?["code"]?.stringValue == "driver_error")

            let (first, firstLines) = try await answer("stream.fail_first")
            #expect(first.status == 502 && firstLines.count == 1 && firstLines[0]["error"]?["code"]?.stringValue == "driver_error")

            let (dry, dryLines) = try await answer("stream.secret", dryRun: true)
            #expect(dry.status == 400 && dryLines.first?["error"]?["code"]?.stringValue == "invalid_request")
            let (suffix, _) = try await answer("stream.secret", path: "/v1/invoke_stream/x")
            #expect(suffix.status == 404)
        }
    }
}
