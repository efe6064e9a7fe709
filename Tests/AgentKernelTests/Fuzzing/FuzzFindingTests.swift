import Testing
@testable import AgentKernel
@testable import CapgateFormats

/// The kernel-side bugs the fuzzers found (fuzz/RESULTS.md), pinned with explicit
/// expectations; the raw inputs also replay in CapgateFuzzingTests.
@Suite struct FuzzFindingTests {
    /// fuzz/toml: `a = [[[[...` overflowed the stack. Nesting is bounded at 128 levels.
    @Test func tomlNestingIsBounded() throws {
        let ok = "a = " + String(repeating: "[", count: 128) + String(repeating: "]", count: 128) + "\n"
        #expect(try TOMLReader.parse(ok)["a"] != nil)
        let deep = "a = " + String(repeating: "[", count: 129) + String(repeating: "]", count: 129) + "\n"
        #expect(throws: TOMLReader.ParseError(message: "Arrays and inline tables nested deeper than 128", line: 1,
                                              column: 134)) { try TOMLReader.parse(deep) }
        let inline = "a = " + String(repeating: "{b = ", count: 3000) + "1" + String(repeating: "}", count: 3000)
        #expect(throws: TOMLReader.ParseError.self) { try TOMLReader.parse(inline) }
    }

    /// fuzz/toml: a key of thousands of dotted parts overflowed the stack when rendered.
    @Test func tomlKeyPartsAreBounded() throws {
        let parts128 = Array(repeating: "a", count: 128).joined(separator: ".")
        #expect(try TOMLReader.parse(parts128 + " = 1\n") != .null)
        #expect(throws: TOMLReader.ParseError.self) { try TOMLReader.parse("[" + parts128 + ".a]\n") }
        #expect(throws: TOMLReader.ParseError.self) { try TOMLReader.parse(parts128 + ".a = 1\n") }
    }

    /// fuzz/config: the former loader (Yams) composed recursively, so deep YAML overflowed the
    /// stack; YAMLReader composes iteratively and refuses more than 128 levels.
    @Test func yamlPolicyNestingIsRefused() {
        for text in ["rules: " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "\n",
                     "rules:\n  " + String(repeating: "- ", count: 5000) + "x\n"] {
            #expect {
                _ = try DeclarativePolicyEngine.fromYAML(text)
            } throws: { e in
                (e as? KernelError)?.kind == .policyConfigError && "\(e)".contains("deeper than 128")
            }
        }
    }

    /// fuzz/config: aliases expanded into `JSONValue` grew exponentially ("billion laughs").
    @Test func yamlAliasExpansionIsBounded() {
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for i in 1..<9 { lines.append("a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]") }
        lines.append("rules: *a8")
        #expect {
            _ = try DeclarativePolicyEngine.fromYAML(lines.joined(separator: "\n"))
        } throws: { e in
            (e as? KernelError)?.kind == .policyConfigError && "\(e)".contains("expands to more than")
        }
        // Ordinary anchors still load.
        let shared = "default: deny\nrules:\n  - name: r1\n    action: allow\n    match: &m {roles: [reader]}\n"
            + "  - name: r2\n    action: deny\n    match: *m\n"
        #expect(throws: Never.self) { _ = try DeclarativePolicyEngine.fromYAML(shared) }
    }

    /// fuzz/timestamp: year 0 was accepted; Python's `datetime.MINYEAR` is 1.
    @Test func timestampYearZeroIsRefused() {
        #expect(Timestamp(isoformat: "0000-01-01") == nil)
        #expect(Timestamp(isoformat: "0000-12-31T23:59:59+00:00") == nil)
        #expect(Timestamp(isoformat: "0001-01-01T00:00:00+00:00")?.isoformat == "0001-01-01T00:00:00+00:00")
    }

    /// fuzz/audit_record: a verified record with seq Int.max made `verify` compute its
    /// successor and trap on the overflow; the next record is now reported non-contiguous.
    @Test func auditChainSeqIntMaxIsNotAnOverflow() {
        let chain = AuditChain(secret: "s")
        let last = chain.makeRecord(seq: .max, prevHash: AuditChain.genesisHash, trace: ["a": 1])
        #expect(chain.verify([last]).ok)
        let after = chain.makeRecord(seq: .min, prevHash: last.recordHash, trace: ["a": 2])
        let verdict = chain.verify([last, after])
        #expect(!verdict.ok)
        #expect(verdict.recordsChecked == 2)
        #expect(verdict.firstBadSeq == .min)
        #expect(verdict.detail.contains("expected seq 9223372036854775808, found -9223372036854775808"))
        let before = chain.makeRecord(seq: .max - 1, prevHash: AuditChain.genesisHash, trace: ["a": 0])
        let linked = chain.makeRecord(seq: .max, prevHash: before.recordHash, trace: ["a": 1])
        #expect(chain.verify([before, linked]).ok)
    }
}

