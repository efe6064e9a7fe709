import CapgateIO
import Glibc
import Testing

@Suite("RLIMIT_NOFILE check")
struct DescriptorLimitTests {
    @Test func planRaisesSoftUpToHardOrRefuses() {
        #expect(DescriptorLimit.plan(soft: 8_192, hard: 8_192, required: 5_184) == .sufficient)
        #expect(DescriptorLimit.plan(soft: 1_024, hard: 524_288, required: 5_184) == .raiseSoft(to: 524_288))
        #expect(DescriptorLimit.plan(soft: 1_024, hard: 4_096, required: 5_184) == .insufficient)
        #expect(DescriptorLimit.plan(soft: 1_024, hard: .max, required: 5_184) == .raiseSoft(to: 5_184))
        #expect(DescriptorLimit.plan(soft: .max, hard: .max, required: 5_184) == .sufficient)
    }

    @Test func ensureRaisesTheSoftLimitOrNamesTheLimit() throws {
        var before = rlimit()
        #expect(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &before) == 0)
        let soft = try DescriptorLimit.ensure(required: 16, explanation: "test")
        #expect(soft >= 16)
        // More than any hard limit (and than fs.nr_open) can give.
        #expect {
            try DescriptorLimit.ensure(required: 1 << 40, explanation: "maxConnectionsGlobal (x)")
        } throws: { error in
            let text = "\(error)"
            return text.contains("RLIMIT_NOFILE") && text.contains("maxConnectionsGlobal")
        }
    }
}
