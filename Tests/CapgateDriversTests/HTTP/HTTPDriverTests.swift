import AgentKernel
@testable import CapgateDrivers
import CapgateTesting
import Foundation
import Testing

/// The HTTP driver against the real tool server (`Tests/Fixtures/http/tool_server.py`) on
/// loopback: requests as the tool sees them, every answer shape, every failure text.
@Suite(.timeLimit(.minutes(1)))
struct HTTPDriverTests {
    static func driver(_ base: String, _ endpoints: [String: HTTPEndpoint], headers: [HTTPHeader] = [],
                       maxResponseBytes: Int? = nil, id: String = "crm") throws -> HTTPDriver {
        var full: [String: HTTPEndpoint] = [:]
        for (op, e) in endpoints {
            var e = e
            if e.url.hasPrefix("/") { e.url = base + e.url }
            full[op] = e
        }
        return try HTTPDriver(config: HTTPDriverConfig(id: id, maxResponseBytes: maxResponseBytes, headers: headers,
                                                       endpoints: full))
    }

    static func run(_ d: HTTPDriver, _ op: String, _ args: JSONObject = [:], constraints: JSONObject = [:]) async throws
        -> RawResult
    {
        var a = args
        a["operation"] = .string(op)
        return try await d.execute(ExecutionContext(capabilityID: "cap", principalID: "p", args: a,
                                                    constraints: constraints))
    }

    static func failure(_ d: HTTPDriver, _ op: String, _ args: JSONObject = [:]) async -> String? {
        do {
            _ = try await run(d, op, args)
            return nil
        } catch let e as KernelError {
            #expect(e.kind == .driverError)
            return e.message
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test func getSendsArgumentsAsQueryWithBaseAndEndpointHeaders() async throws {
        let base = try await ToolServer.baseURL()
        let d = try Self.driver(base, ["list": HTTPEndpoint(url: "/echo", method: "get",
                                                            headers: [HTTPHeader(name: "x-endpoint", value: "e"),
                                                                      HTTPHeader(name: "X-Base", value: "override")])],
                                headers: [HTTPHeader(name: "x-base", value: "b"), HTTPHeader(name: "x-tenant", value: "acme"),
                                          HTTPHeader(name: "authorization", value: "")])
        let r = try await Self.run(d, "list", ["q": "a b&c=d/é", "n": 1, "f": 1.5, "t": true, "none": nil,
                                               "lst": [1, "x", false], "empty": [], "d": ["k": "v"]],
                                   constraints: ["max_rows": 3, "allowed_fields": ["id"]])
        #expect(r.capabilityID == "cap")
        #expect(r.metadata == ["status_code": 200, "url": .string(base + "/echo")])
        #expect(r.data["method"] == "GET")
        // Constraints are not forwarded; booleans are lower-case, null is empty, lists repeat.
        #expect(r.data["query"] == "q=a+b%26c%3Dd%2F%C3%A9&n=1&f=1.5&t=true&none=&lst=1&lst=x&lst=false&d=%7B%27k%27%3A+%27v%27%7D")
        // An empty configured value is sent empty, not dropped.
        #expect(r.data["headers"] == ["x-tenant": "acme", "x-endpoint": "e", "authorization": "", "x-base": "override"])
        #expect(r.data["body"] == "")
    }

    @Test func postSendsArgumentsAsCompactJSONBody() async throws {
        let base = try await ToolServer.baseURL()
        let d = try Self.driver(base, ["create": HTTPEndpoint(url: "/echo", method: "POST"),
                                       "replace": HTTPEndpoint(url: "/echo", method: "put"),
                                       "remove": HTTPEndpoint(url: "/echo", method: "DELETE")])
        let r = try await Self.run(d, "create", ["name": "é\u{2028}", "n": 1, "f": 2.0, "nested": ["a": [1, nil]]])
        #expect(r.data["method"] == "POST" && r.data["query"] == "")
        #expect(r.data["headers"] == ["content-type": "application/json"])
        #expect(r.data["body"] == "{\"name\":\"é\u{2028}\",\"n\":1,\"f\":2.0,\"nested\":{\"a\":[1,null]}}")
        let put = try await Self.run(d, "replace", [:])
        #expect(put.data["method"] == "PUT" && put.data["body"] == "{}")
        let del = try await Self.run(d, "remove", ["id": 7])
        #expect(del.data["method"] == "DELETE" && del.data["query"] == "id=7" && del.data["body"] == "")
    }

    @Test func errorStatusesQuoteTheBodyPrefix() async throws {
        let base = try await ToolServer.baseURL()
        let d = try Self.driver(base, ["nf": HTTPEndpoint(url: "/status/404"), "boom": HTTPEndpoint(url: "/status/500")])
        #expect(await Self.failure(d, "nf")
            == "HTTPDriver 'crm': HTTP 404 from \(base)/status/404: {\"detail\": \"no such customer\"}")
        let long = "internal failure é " + (0..<200).map { "line \($0); " }.joined()
        #expect(await Self.failure(d, "boom")
            == "HTTPDriver 'crm': HTTP 500 from \(base)/status/500: \(PyString.prefix(long, 200))")
    }

    @Test func slowEndpointFailsAfterItsTimeout() async throws {
        let base = try await ToolServer.baseURL()
        let d = try Self.driver(base, ["slow": HTTPEndpoint(url: "/slow", timeoutSeconds: 0.3)])
        let start = ContinuousClock.now
        #expect(await Self.failure(d, "slow") == "HTTPDriver 'crm': Request to \(base)/slow failed: ")
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(5), "took \(elapsed)")
    }

    @Test func oversizedBodyIsRefusedWhileReading() async throws {
        let base = try await ToolServer.baseURL()
        let d = try Self.driver(base, ["big": HTTPEndpoint(url: "/big"), "small": HTTPEndpoint(url: "/pii")],
                                maxResponseBytes: 50_000)
        #expect(await Self.failure(d, "big")
            == "HTTPDriver 'crm': response from \(base)/big exceeded max_response_bytes (50000).")
        // Under the limit: unaffected.
        #expect(try await Self.run(d, "small").data.arrayValue?.count == 2)
    }

    @Test func nonJSONBodyIsADriverError() async throws {
        let base = try await ToolServer.baseURL()
        let d = try Self.driver(base, ["html": HTTPEndpoint(url: "/html"), "bare": HTTPEndpoint(url: "/no-content-type")])
        #expect(await Self.failure(d, "html") == "HTTPDriver 'crm': non-JSON response from \(base)/html "
            + "(content-type: text/html): <html><body>not json</body></html>")
        #expect(await Self.failure(d, "bare") == "HTTPDriver 'crm': non-JSON response from \(base)/no-content-type "
            + "(content-type: unknown): plain words")
    }

    @Test func textFormatReplacesInvalidUTF8AndEmptyJSONIsNull() async throws {
        let base = try await ToolServer.baseURL()
        let d = try Self.driver(base, ["text": HTTPEndpoint(url: "/text", responseFormat: .text),
                                       "empty": HTTPEndpoint(url: "/empty")])
        #expect(try await Self.run(d, "text").data == "café \u{FFFD} end")
        let empty = try await Self.run(d, "empty")
        #expect(empty.data == .null && empty.metadata["status_code"] == 200)
    }

    @Test func redirectIsReturnedNotFollowed() async throws {
        let base = try await ToolServer.baseURL()
        let d = try Self.driver(base, ["r": HTTPEndpoint(url: "/redirect")])
        let r = try await Self.run(d, "r")
        // Following it would have reached /echo, whose answer is an object.
        #expect(r.data == .null)
        #expect(r.metadata == ["status_code": 302, "url": .string(base + "/redirect")])
    }

    @Test func unknownOperationAndRefusedConnection() async throws {
        let base = try await ToolServer.baseURL()
        let dead = "http://127.0.0.1:\(try ToolServer.deadPort())/x"
        let d = try Self.driver(base, ["down": HTTPEndpoint(url: dead)])
        #expect(await Self.failure(d, "nope") == "HTTPDriver 'crm' has no endpoint for operation='nope'.")
        // The operation is str() of whatever the argument holds; the capability id otherwise.
        let ctx = ExecutionContext(capabilityID: "cap", principalID: "p", args: ["operation": true])
        await #expect(throws: KernelError(.driverError, "HTTPDriver 'crm' has no endpoint for operation='True'.")) {
            try await d.execute(ctx)
        }
        #expect(await Self.failure(d, "down") == "HTTPDriver 'crm': Request to \(dead) failed: All connection attempts failed")
    }

    @Test func capabilityIDIsTheDefaultOperation() async throws {
        let base = try await ToolServer.baseURL()
        let d = try Self.driver(base, ["crm.list": HTTPEndpoint(url: "/echo")])
        let r = try await d.execute(ExecutionContext(capabilityID: "crm.list", principalID: "p", args: ["a": 1]))
        #expect(r.data["query"] == "a=1" && r.capabilityID == "crm.list")
    }

    @Test func cancellingTheTaskRemovesTheTransfer() async throws {
        let base = try await ToolServer.baseURL()
        let d = try Self.driver(base, ["slow": HTTPEndpoint(url: "/slow", timeoutSeconds: 30)])
        let task = Task { try await Self.run(d, "slow") }
        // Poll (not a fixed sleep) until the request is inside libcurl, waiting on the tool.
        try #require(await Self.eventually { d.inFlightCount == 1 })
        let start = ContinuousClock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(await Self.eventually { d.inFlightCount == 0 })
    }

    @Test func invokeTimeoutCancelsTheDriverAttempt() async throws {
        let base = try await ToolServer.baseURL()
        let d = try Self.driver(base, ["slow": HTTPEndpoint(url: "/slow", timeoutSeconds: 30)])
        // The kernel's invoke_timeout_s path: the attempt races a deadline and is cancelled.
        let outcome = await FallbackExecutor.execute(
            plan: RoutePlan(capabilityID: "cap", driverIDs: ["crm"]), drivers: ["crm": d],
            context: ExecutionContext(capabilityID: "cap", principalID: "p", args: ["operation": "slow"]),
            timeoutSeconds: 0.2, timeoutText: nil)
        #expect(outcome.raw == nil)
        #expect((outcome.lastError as? KernelError)?.message == "Driver 'crm' timed out after 0.2s for capability 'cap'.")
        // The abandoned transfer is removed from libcurl, not left running for 10 s.
        #expect(await Self.eventually { d.inFlightCount == 0 })
    }

    /// Polls a condition for up to 5 s (a bound, not a synchronizing sleep).
    static func eventually(_ condition: () -> Bool) async -> Bool {
        let end = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < end {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return condition()
    }

    @Test func concurrentInvokesShareTheDriver() async throws {
        let base = try await ToolServer.baseURL()
        let d = try Self.driver(base, ["list": HTTPEndpoint(url: "/echo")])
        let queries = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<50 {
                group.addTask { try await Self.run(d, "list", ["i": .int(i)]).data["query"]?.stringValue ?? "" }
            }
            var out: Set<String> = []
            for try await q in group { out.insert(q) }
            return out
        }
        #expect(queries == Set((0..<50).map { "i=\($0)" }))
    }

    @Test func secretHeaderIsSentButNeverShown() async throws {
        let base = try await ToolServer.baseURL()
        let secret = "Bearer s3cr3t-value-\(UUID().uuidString)"
        let dead = "http://127.0.0.1:\(try ToolServer.deadPort())/x"
        let config = HTTPDriverConfig(
            id: "crm", headers: [HTTPHeader(name: "authorization", value: secret, isSecret: true)],
            endpoints: ["echo": HTTPEndpoint(url: base + "/echo"), "nf": HTTPEndpoint(url: base + "/status/404"),
                        "down": HTTPEndpoint(url: dead), "slow": HTTPEndpoint(url: base + "/slow", timeoutSeconds: 0.2),
                        "html": HTTPEndpoint(url: base + "/html")])
        let d = try HTTPDriver(config: config)
        #expect(try await Self.run(d, "echo").data["headers"]?["authorization"] == .string(secret))
        for op in ["nf", "down", "slow", "html", "missing"] {
            let message = try #require(await Self.failure(d, op))
            #expect(!message.contains("s3cr3t"), "\(op): \(message)")
        }
        for rendering in [String(describing: config), String(reflecting: config), "\(config.headers)"] {
            #expect(!rendering.contains("s3cr3t") && rendering.contains("<redacted>"), "\(rendering)")
        }
        var dumped = ""
        dump(config, to: &dumped)
        #expect(!dumped.contains("s3cr3t"))
    }
}
