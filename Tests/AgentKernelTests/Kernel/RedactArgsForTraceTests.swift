import Testing
@testable import AgentKernel

/// `Kernel.redactArgsForTrace` against the reference's `_redact_args_for_trace` on ids and keys
/// where Swift's character comparison and Python's code-point comparison disagree (the
/// expectations are the reference's answers, run on weaver-kernel 0.12.0).
@Suite struct RedactArgsForTraceTests {
    static func args(_ pairs: (String, JSONValue)...) -> JSONObject {
        var o = JSONObject()
        for (k, v) in pairs { o.appendUnchecked(k, v) }
        return o
    }

    @Test func aMemoryIdWhoseDotCarriesACombiningMarkStillBlanksItsPayload() {
        // Python: "memory.\u0301x".startswith("memory.") is True.
        let out = Kernel.redactArgsForTrace(capabilityID: "memory.\u{301}x",
                                            args: Self.args(("payload", .string("s")), ("Body", .string("b")), ("other", .int(1))))
        #expect(out["payload"] == .string("[REDACTED]"))
        #expect(out["Body"] == .string("[REDACTED]"))
        #expect(out["other"] == .int(1))
    }

    @Test func aMarkBeforeTheDotIsNotTheMemoryNamespace() {
        let out = Kernel.redactArgsForTrace(capabilityID: "memory\u{301}.x", args: Self.args(("payload", .string("s"))))
        #expect(out["payload"] == .string("s"))
    }

    @Test func keyNamesCompareByCodePointsAfterLowercasing() {
        let out = Kernel.redactArgsForTrace(capabilityID: "memory.x",
                                            args: Self.args(("payloa\u{301}d", .string("s")), ("PAYLOAD", .string("t"))))
        #expect(out["payloa\u{301}d"] == .string("s"))
        #expect(out["PAYLOAD"] == .string("[REDACTED]"))
    }
}
