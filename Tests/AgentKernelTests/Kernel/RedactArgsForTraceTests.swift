import CapgateTesting
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

    /// The in-place prefix test against the generic one, on ids around "memory.".
    @Test func memoryPrefixMatchesStartsWith() {
        let ids = ["memory.", "memory.x", "memory", "memor.", "Memory.x", "memory\u{301}.x", "memory.\u{301}x", "",
                   "m", "memory.\u{1F600}", "xmemory.", "memory!", "memories.x", String(repeating: "memory.", count: 9)]
        for id in ids {
            #expect(Kernel.hasMemoryPrefix(id) == id.utf8.starts(with: "memory.".utf8), "\(id.unicodeScalars.map(\.value))")
        }
    }

    /// `Redaction.plainlyUnchanged` only answers true where the general walk keeps the
    /// arguments as they are (same bytes, no warning), on seeded random arguments; and it
    /// does answer true for plain ones (else the shortcut would never run).
    @Test(arguments: 0..<8)
    func plainArgumentsSkipTheWalkOnlyWhenItChangesNothing(seed: Int) {
        var g = SplitMix64(seed: 0xA465_0000 + UInt64(seed))
        let names = ["limit", "fields", "email", "Password", "q", "\u{212A}ey", "offset", "note"]
        func scalar() -> JSONValue {
            switch g.below(7) {
            case 0: return .int(g.below(100))
            case 1: return .double(0.5)
            case 2: return .bool(true)
            case 3: return .null
            case 4: return .string("title")
            case 5: return .string("reach me at bob@example.com")
            default: return .string("sk-\(String(repeating: "a", count: 30))")
            }
        }
        var plainTrue = 0
        for _ in 0..<300 {
            var o = JSONObject()
            for _ in 0..<g.below(4) {
                let k = names[g.below(names.count)]
                if o.index(of: k) != nil { continue }
                switch g.below(5) {
                case 0: o.appendUnchecked(k, .array((0..<g.below(3)).map { _ in scalar() }))
                case 1: o.appendUnchecked(k, .array([scalar(), ["k": scalar()]]))
                case 2: o.appendUnchecked(k, ["inner": scalar()])
                default: o.appendUnchecked(k, scalar())
                }
            }
            for maxDepth in 0...4 where Redaction.plainlyUnchanged(o, maxDepth: maxDepth) {
                var warnings: [String] = []
                let walked = Redaction.redact(.object(o), Redaction.AllowedFields([]), depth: 0, maxDepth: maxDepth,
                                              warnings: &warnings)
                #expect(walked.serializedBytes() == JSONValue.object(o).serializedBytes(), "seed \(seed) depth \(maxDepth)")
                #expect(warnings.isEmpty)
                if maxDepth == 3 { plainTrue += 1 }
            }
            let out = Kernel.redactArgsForTrace(capabilityID: "tasks.list", args: o)
            let (expected, _) = Redaction.redact(.object(o))
            #expect(JSONValue.object(out).serializedBytes() == expected.serializedBytes())
        }
        #expect(plainTrue > 20)
    }
}
