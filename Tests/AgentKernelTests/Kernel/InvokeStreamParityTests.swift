@testable import AgentKernel
import Synchronization
import Testing

/// A streaming driver that plays a recorded script: `{"chunk": {...}}`, `{"sleep": s}`,
/// `{"raise": "message"}` (a DriverError). Pull-based, like the reference's async generator.
final class ScriptStreamDriver: StreamingDriver {
    let driverID: String
    let script: [JSONValue]
    /// Set when the kernel terminated the driver's sequence before it ended on its own.
    let cancelled = Atomic<Bool>(false)
    /// Chunks handed out so far.
    let pulled = Atomic<Int>(0)

    init(driverID: String = "stream", script: [JSONValue]) {
        self.driverID = driverID
        self.script = script
    }

    func execute(_ ctx: ExecutionContext) async throws -> RawResult {
        RawResult(capabilityID: ctx.capabilityID, data: ["unused": true])
    }

    func executeStream(_ ctx: ExecutionContext) -> AsyncThrowingStream<JSONObject, any Error> {
        let steps = script
        let cursor = Mutex(0)
        return AsyncThrowingStream { [self] in
            while true {
                let i = cursor.withLock { c in defer { c += 1 }; return c }
                guard i < steps.count else { return nil }
                let step = steps[i]
                if let s = step["sleep"].flatMap({ $0.doubleValue ?? $0.intValue.map(Double.init) }) {
                    do {
                        try await Task.sleep(for: .seconds(s))
                    } catch {
                        cancelled.store(true, ordering: .relaxed)
                        throw error
                    }
                } else if let message = step["raise"]?.stringValue {
                    throw KernelError(.driverError, message)
                } else if let chunk = step["chunk"]?.objectValue {
                    if Task.isCancelled {
                        cancelled.store(true, ordering: .relaxed)
                        return nil
                    }
                    pulled.add(1, ordering: .relaxed)
                    return chunk
                }
            }
        }
    }
}

/// A non-streaming driver: fixed data, a DriverError, or a sleep first.
struct PlainDriver: Driver {
    let driverID: String
    var data: JSONValue = .null
    var fail: String?
    var sleep: Double?

    func execute(_ ctx: ExecutionContext) async throws -> RawResult {
        if let sleep { try await Task.sleep(for: .seconds(sleep)) }
        if let fail { throw KernelError(.driverError, fail) }
        return RawResult(capabilityID: ctx.capabilityID, data: data)
    }
}

struct ConsumerStop: Error {}

/// `Kernel.invokeStream` against outcomes recorded from the reference's `invoke_stream`
/// (`InvokeStreamFixtures`, tools/reference/invoke_stream_fixtures.py): frames field by field
/// (ids and times dropped), the raised error's class and text, the one trace, the counters.
@Suite struct InvokeStreamParityTests {
    static let cid = "docs.read"

    static func kernel(route: [String], script: [JSONValue]) throws -> (Kernel, ScriptStreamDriver) {
        let registry = CapabilityRegistry()
        try registry.register(Capability(capabilityID: cid, name: "Read docs", description: "d", safetyClass: .read))
        let kernel = Kernel(registry: registry, policy: try DefaultPolicyEngine(),
                            tokens: HMACTokenProvider(secret: "stream-fixtures"),
                            router: StaticRouter(routes: [cid: route]),
                            handles: try HandleStore(), traces: try TraceStore())
        let streaming = ScriptStreamDriver(script: script)
        kernel.registerDriver(streaming)
        kernel.registerDriver(PlainDriver(driverID: "plain", data: [["id": 1, "email": "p@q.com"], ["id": 2]]))
        kernel.registerDriver(PlainDriver(driverID: "plain2", data: ["owner": "z@w.io", "count": 3]))
        kernel.registerDriver(PlainDriver(driverID: "boom", fail: "db down for admin@corp.com"))
        kernel.registerDriver(PlainDriver(driverID: "slow", data: 1, sleep: 1.0))
        return (kernel, streaming)
    }

    static func view(_ f: Frame) -> JSONValue {
        .object(JSONObject([
            ("response_mode", .string(f.responseMode.rawValue)), ("facts", .array(f.facts.map(JSONValue.string))),
            ("table_preview", .array(f.tablePreview.map(JSONValue.object))), ("raw_data", f.rawData),
            ("warnings", .array(f.warnings.map(JSONValue.string))), ("is_final", .bool(f.isFinal)),
            ("has_handle", .bool(f.handle != nil)),
        ]))
    }

    static func view(_ t: ActionTrace) -> JSONValue {
        .object(JSONObject([
            ("capability_id", .string(t.capabilityID)), ("principal_id", .string(t.principalID)),
            ("args", .object(t.args)), ("response_mode", .string(t.responseMode.rawValue)),
            ("driver_id", .string(t.driverID)), ("has_handle_id", .bool(t.handleID != nil)),
            ("result_summary", t.resultSummary.map(JSONValue.object) ?? .null),
            ("error", t.error.map(JSONValue.string) ?? .null), ("sensitivity", .string(t.sensitivity.rawValue)),
        ]))
    }

    @Test func matchesTheReference() async throws {
        guard case .array(let scenarios) = try JSONParser.parse(InvokeStreamFixtures.json) else {
            throw ParityFixtureError()
        }
        #expect(scenarios.count >= 19)
        for s in scenarios {
            let name = s["name"]?.stringValue ?? "?"
            let route = (s["route"]?.arrayValue ?? []).compactMap(\.stringValue)
            let (kernel, _) = try Self.kernel(route: route, script: s["script"]?.arrayValue ?? [])
            let roles = (s["roles"]?.arrayValue ?? []).compactMap(\.stringValue)
            let principal = Principal(principalID: "agent-1", roles: roles)
            let token = kernel.tokens.issue(capabilityID: Self.cid, principalID: principal.principalID,
                                            constraints: s["constraints"]?.objectValue ?? [:])
            let mode = ResponseMode(s["mode"]?.stringValue ?? "summary")
            let stopAfter = s["stop_after"]?.intValue
            var frames: [JSONValue] = []
            var error: JSONValue = .null
            do {
                try await kernel.invokeStream(token, principal: principal, args: s["args"]?.objectValue ?? [:],
                                              responseMode: mode) { frame in
                    frames.append(Self.view(frame))
                    if let stopAfter, frames.count >= stopAfter { throw ConsumerStop() }
                }
            } catch is ConsumerStop {
            } catch let e as KernelError {
                error = ["type": .string(e.type), "message": .string(e.message)]
            }
            #expect(frames == (s["frames"]?.arrayValue ?? []), "\(name) frames")
            #expect(error == s["error"], "\(name) error")
            #expect(kernel.listTraces().map(Self.view) == (s["traces"]?.arrayValue ?? []), "\(name) traces")
            let st = kernel.statsSnapshot()
            let stats: JSONValue = .object(JSONObject([
                ("invocations", .int(st.invocations)), ("invocation_failures", .int(st.invocationFailures)),
                ("fallback_activations", .int(st.fallbackActivations)), ("redaction_events", .int(st.redactionEvents)),
                ("budget_downgrades", .int(st.budgetDowngrades)), ("handle_stores", .int(st.handleStores)),
            ]))
            #expect(stats == s["stats"], "\(name) stats")
        }
    }
}
