@testable import AgentKernel
import Testing

/// `StreamRedactor` against outputs recorded from the reference (`StreamRedactorFixtures`):
/// the same text is committed at the same points with the same warnings, including a JWT, an
/// email and a card number split across chunks, a forced cut past 4 * overlap, and non-ASCII
/// text (cuts count code points).
@Suite struct StreamRedactorParityTests {
    @Test func matchesTheReference() throws {
        guard case .array(let cases) = try JSONParser.parse(StreamRedactorFixtures.json) else {
            throw ParityFixtureError()
        }
        #expect(cases.count == 6)
        for (i, c) in cases.enumerated() {
            let chunks = try #require(c["chunks"]?.arrayValue).compactMap(\.stringValue)
            let steps = try #require(c["steps"]?.arrayValue)
            var r = StreamRedactor()
            var got: [(String, [String])] = chunks.map { r.feed($0) }
            got.append(r.flush())
            #expect(got.count == steps.count)
            for (j, (text, warnings)) in got.enumerated() where j < steps.count {
                let step = steps[j].arrayValue ?? []
                #expect(step.count == 2)
                #expect(text == step.first?.stringValue, "case \(i) step \(j)")
                #expect(warnings == step.last?.arrayValue?.compactMap(\.stringValue), "case \(i) step \(j)")
            }
        }
    }

    @Test func aSecretSplitAcrossChunksNeverLeaves() {
        var r = StreamRedactor()
        var out = ""
        for chunk in [String(repeating: "a ", count: 200), "mail: alice@exa", "mple.com ", String(repeating: "b ", count: 200)] {
            out += r.feed(chunk).0
        }
        out += r.flush().0
        #expect(!out.contains("alice") && !out.contains("example.com"))
        #expect(out.contains("[REDACTED]"))
    }
}

struct ParityFixtureError: Error {}
