import Testing
import AgentKernel

/// Expectations from /tmp/ref_exec.py style runs of `execute_with_fallback` (weaver-kernel 0.12.0):
///   (['missing','bad','good'], None) -> {'ok': 1} 'good' None True
///   (['good'], None)                 -> {'ok': 1} 'good' None False
///   (['bad','missing'], None)        -> None 'bad' DriverError "Handler for operation='op' raised: kaput" True
///   (['missing'], None) / ([], None) -> None '' None False
///   (['slow','good'], 0.01)          -> {'ok': 1} 'good' None True
///   (['slow'], 0.01)                 -> None 'slow' DriverError "Driver 'slow' timed out after 0.01s for capability 'cap.x'." True
///   (['raw'], None)                  -> None 'raw' RuntimeError 'plain' True
@Suite struct FallbackExecutorTests {
    struct Kaput: Error, CustomStringConvertible { var description: String { "kaput" } }

    static func drivers(extra: [any Driver] = []) -> [String: any Driver] {
        let bad = InMemoryDriver(driverID: "bad")
        bad.registerHandler("op") { _ in throw Kaput() }
        let good = InMemoryDriver(driverID: "good")
        good.registerHandler("op") { _ in ["ok": 1] }
        var d: [String: any Driver] = ["bad": bad, "good": good, "raw": ExecTestPlainErrorDriver(driverID: "raw")]
        for x in extra { d[x.driverID] = x }
        return d
    }

    static let ctx = ExecutionContext(capabilityID: "cap.x", principalID: "p1", args: ["operation": "op"])

    static func run(_ ids: [String], _ drivers: [String: any Driver] = drivers(), timeout: Double? = nil,
                    text: String? = nil) async -> FallbackOutcome {
        await FallbackExecutor.execute(plan: RoutePlan(capabilityID: "cap.x", driverIDs: ids), drivers: drivers,
                                       context: ctx, timeoutSeconds: timeout, timeoutText: text)
    }

    static func message(_ e: (any Error)?) -> String? { e.map(FallbackExecutor.pythonStr) }

    @Test func skipsUnregisteredAndCountsFailures() async {
        let o = await Self.run(["missing", "bad", "good"])
        #expect(o.raw?.data == ["ok": 1])
        #expect(o.raw?.capabilityID == "cap.x")
        #expect(o.driverID == "good")
        #expect(o.lastError == nil)
        #expect(o.hadFailures)
        let first = await Self.run(["good"])
        #expect(first.driverID == "good" && !first.hadFailures)
    }

    @Test func allFailedReportsLastAttempted() async {
        let o = await Self.run(["bad", "missing"])
        #expect(o.raw == nil)
        #expect(o.driverID == "bad")
        #expect((o.lastError as? KernelError)?.kind == .driverError)
        #expect(Self.message(o.lastError) == "Handler for operation='op' raised: kaput")
        #expect(o.hadFailures)
    }

    @Test func nothingRegistered() async {
        for ids in [["missing"], []] {
            let o = await Self.run(ids)
            #expect(o.raw == nil && o.driverID == "" && o.lastError == nil && !o.hadFailures)
        }
    }

    @Test func nonKernelErrorIsAFailedAttempt() async {
        let o = await Self.run(["raw"])
        #expect(o.driverID == "raw" && o.hadFailures && o.raw == nil)
        #expect(o.lastError is ExecTestPlainErrorDriver.Plain)
        #expect(Self.message(o.lastError) == "plain")
    }

    /// The deadline fires although the driver ignores cancellation: `execute` returns while
    /// the stuck driver is still blocked (it is only released afterwards).
    @Test func timeoutAbandonsNonCooperativeDriverAndFallsBack() async {
        let stuck = ExecTestStuckDriver(driverID: "slow")
        let o = await Self.run(["slow", "good"], Self.drivers(extra: [stuck]), timeout: 0.01)
        #expect(o.driverID == "good" && o.hadFailures && o.raw?.data == ["ok": 1])
        stuck.release.open()
    }

    @Test func timeoutMessageAndSite() async {
        let stuck = ExecTestStuckDriver(driverID: "slow")
        let o = await Self.run(["slow"], Self.drivers(extra: [stuck]), timeout: 0.01)
        let e = o.lastError as? KernelError
        #expect(e?.kind == .driverError)
        #expect(e?.site == .driverTimeout)
        #expect(e?.message == "Driver 'slow' timed out after 0.01s for capability 'cap.x'.")
        #expect(o.driverID == "slow" && o.hadFailures && o.raw == nil)
        // An explicit text is used verbatim.
        let o2 = await Self.run(["slow"], Self.drivers(extra: [stuck]), timeout: 0.01, text: "1.0")
        #expect(Self.message(o2.lastError) == "Driver 'slow' timed out after 1.0s for capability 'cap.x'.")
        stuck.release.open()
    }

    /// Python: CancelledError escapes `execute_with_fallback`, so `perform_invoke` still holds
    /// `used_driver_id = ""` and `fell_back = False`.
    @Test func cancellationDuringTimedAttempt() async {
        let stuck = ExecTestStuckDriver(driverID: "slow")
        let drivers = Self.drivers(extra: [stuck])
        let task = Task { await Self.run(["bad", "slow", "good"], drivers, timeout: 3600) }
        await stuck.started.wait()
        task.cancel()
        let o = await task.value
        #expect(o.wasCancelled)
        #expect(o.raw == nil && o.driverID == "" && !o.hadFailures)
        stuck.release.open()
    }

    @Test func cancellationDuringUntimedAttempt() async {
        let coop = ExecTestCooperativeDriver(driverID: "coop")
        let drivers = Self.drivers(extra: [coop])
        let task = Task { await Self.run(["coop", "good"], drivers) }
        await coop.started.wait()
        task.cancel()
        let o = await task.value
        #expect(o.wasCancelled && o.driverID == "" && o.raw == nil)
    }

    @Test func cancelledBeforeStart() async {
        let gate = ExecTestLatch()
        let task = Task { () -> FallbackOutcome in
            await gate.wait()
            return await Self.run(["good"], timeout: 5)
        }
        task.cancel()
        gate.open()
        #expect(await task.value.wasCancelled)
    }

    /// Many concurrent timed attempts against one stuck driver all resolve.
    @Test func concurrentTimeouts() async {
        let stuck = ExecTestStuckDriver(driverID: "slow")
        let drivers = Self.drivers(extra: [stuck])
        let served = await withTaskGroup(of: String.self) { g in
            for _ in 0..<50 { g.addTask { await Self.run(["slow", "good"], drivers, timeout: 0.005).driverID } }
            var all: [String] = []
            for await d in g { all.append(d) }
            return all
        }
        #expect(served.count == 50 && served.allSatisfy { $0 == "good" })
        stuck.release.open()
    }
}
