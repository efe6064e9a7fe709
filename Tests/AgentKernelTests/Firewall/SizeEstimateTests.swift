import Testing
@testable import AgentKernel

/// Expected values from the reference:
/// python -c "from weaver_kernel.firewall.size_estimate import estimated_size as e; print(e(None), e('hi'), e([1,2,3]), e({'a': 1.5, 'bé': [True, False]}), e(-12))"
/// -> 4 4 9 31 3
@Suite struct SizeEstimateTests {
    @Test func matchesReferenceValues() {
        #expect(SizeEstimate.estimatedSize(.null) == 4)
        #expect(SizeEstimate.estimatedSize("hi") == 4)
        #expect(SizeEstimate.estimatedSize([1, 2, 3]) == 9)
        #expect(SizeEstimate.estimatedSize(["a": 1.5, "bé": [true, false]]) == 31)
        #expect(SizeEstimate.estimatedSize(-12) == 3)
    }
}
