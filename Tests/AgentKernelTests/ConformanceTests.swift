import AgentKernel
import KernelConformance
import Testing

/// The black-box conformance suite (docs/reference-semantics.md §11.1, §11.2) against the in-process kernel.
/// The gateway's integration tests run the same `ConformanceSuite.cases` through the
/// network client.
struct ConformanceTests {
    @Test(arguments: ConformanceSuite.cases)
    func inProcess(_ c: ConformanceSuite.Case) async throws {
        try await c.run(LocalHarness())
    }
}
