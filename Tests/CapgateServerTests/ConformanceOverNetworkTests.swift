import KernelConformance
import Testing

/// Spec §11.1/§11.2 conformance, run UNCHANGED through the mTLS HTTP/2 client against a
/// real gateway (the in-process run is `AgentKernelTests/ConformanceTests`).
@Suite(.timeLimit(.minutes(1)))
struct ConformanceOverNetworkTests {
    @Test(arguments: ConformanceSuite.cases)
    func overTheWire(_ c: ConformanceSuite.Case) async throws {
        let harness = NetworkHarness()
        do {
            try await c.run(harness)
        } catch {
            await harness.shutdown()
            throw error
        }
        await harness.shutdown()
    }
}
