@testable import AgentKernel
import Synchronization
import Testing

/// `invokeStream` behaviour the reference cannot record: back-pressure, cancellation of the
/// driver, and a non-cooperative driver held to its inactivity deadline.
@Suite struct InvokeStreamTests {
    static func token(_ kernel: Kernel, _ constraints: JSONObject = [:]) -> CapabilityToken {
        kernel.tokens.issue(capabilityID: InvokeStreamParityTests.cid, principalID: "agent-1", constraints: constraints)
    }
    static let agent = Principal(principalID: "agent-1", roles: ["reader"])

    @Test func theDriverIsAskedOnlyWhenTheConsumerWantsMore() async throws {
        let script: [JSONValue] = (1...5).map { ["chunk": ["i": .int($0)]] }
        let (kernel, driver) = try InvokeStreamParityTests.kernel(route: ["stream"], script: script)
        var seen: [Int] = []
        try await kernel.invokeStream(Self.token(kernel), principal: Self.agent, args: [:], responseMode: .table) { f in
            // While the consumer holds frame n, the driver has produced exactly n chunks.
            let n = driver.pulled.load(ordering: .relaxed)
            seen.append(n)
            try await Task.sleep(for: .milliseconds(5))
            let after = driver.pulled.load(ordering: .relaxed)
            #expect(after == n)
        }
        #expect(seen == [1, 2, 3, 4, 5, 5])  // the last frame is the synthetic final marker
    }

    @Test func cancellingTheConsumerStopsTheDriverAndLeavesOneTrace() async throws {
        let script: [JSONValue] = [["chunk": ["i": 1]], ["sleep": 30], ["chunk": ["i": 2]]]
        let (kernel, driver) = try InvokeStreamParityTests.kernel(route: ["stream"], script: script)
        let first = Mutex(false)
        let task = Task {
            try await kernel.invokeStream(Self.token(kernel), principal: Self.agent, args: [:]) { _ in
                first.withLock { $0 = true }
            }
        }
        while !first.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(2)) }
        try await Task.sleep(for: .milliseconds(20))
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
        // The driver's sleep was interrupted: the kernel terminated its sequence.
        for _ in 0..<100 where !driver.cancelled.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(5)) }
        let wasCancelled = driver.cancelled.load(ordering: .relaxed)
        #expect(wasCancelled)
        let traces = kernel.listTraces()
        #expect(traces.count == 1)
        #expect(traces.first?.error == nil)  // a frame was produced: no error, as in the reference
        #expect(kernel.statsSnapshot().invocations == 1)
    }

    @Test func cancelledBeforeTheFirstFrameRecordsNoChunks() async throws {
        let (kernel, _) = try InvokeStreamParityTests.kernel(route: ["stream"], script: [["sleep": 30]])
        let task = Task {
            try await kernel.invokeStream(Self.token(kernel), principal: Self.agent, args: [:]) { _ in }
        }
        try await Task.sleep(for: .milliseconds(30))
        task.cancel()
        _ = await task.result
        #expect(kernel.listTraces().map(\.error) == ["stream produced no chunks"])
        #expect(kernel.statsSnapshot().invocationFailures == 1)
    }

    /// A driver that never returns from `next()` and ignores cancellation.
    struct StuckDriver: StreamingDriver {
        let driverID = "stream"
        func execute(_ ctx: ExecutionContext) async throws -> RawResult { RawResult(capabilityID: "", data: .null) }
        func executeStream(_ ctx: ExecutionContext) -> AsyncThrowingStream<JSONObject, any Error> {
            AsyncThrowingStream {
                let never = Mutex<CheckedContinuation<Void, Never>?>(nil)
                await withCheckedContinuation { c in never.withLock { $0 = c } }
                return nil
            }
        }
    }

    @Test func aStuckDriverIsCutOffByTheInactivityDeadline() async throws {
        let (kernel, _) = try InvokeStreamParityTests.kernel(route: ["stream"], script: [])
        kernel.registerDriver(StuckDriver())
        let started = ContinuousClock.now
        await #expect(throws: KernelError(.driverError, "Stream for capability 'docs.read' timed out after 0.05s "
                                              + "waiting for the next chunk.", site: .driverTimeout)) {
            try await kernel.invokeStream(Self.token(kernel, ["invoke_timeout_s": 0.05]), principal: Self.agent,
                                          args: [:]) { _ in }
        }
        // Generous: the suite runs loaded; a stuck driver without the deadline never returns.
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(kernel.listTraces().count == 1)
    }

    @Test func anInvalidTimeoutIsRefusedUntraced() async throws {
        let (kernel, _) = try InvokeStreamParityTests.kernel(route: ["stream"], script: [])
        await #expect(throws: KernelError.self) {
            try await kernel.invokeStream(Self.token(kernel, ["invoke_timeout_s": true]), principal: Self.agent,
                                          args: [:]) { _ in }
        }
        #expect(kernel.listTraces().isEmpty)
        #expect(kernel.statsSnapshot().invocations == 0)
    }
}
