import Testing
@testable import AgentKernel

@Suite struct SearchIndexTests {
    /// The byte-keyed token table finds every indexed token past its first growth, and
    /// nothing else (prefixes, extensions and near misses of indexed tokens included).
    @Test func tokenTableFindsExactlyTheIndexedTokens() {
        let tokens = (0..<300).map { "t\($0)x" } + ["a", "ab", "abc", "9"]
        let table = TokenTable(tokens)
        func find(_ s: String) -> Int? { Array(s.utf8).withUnsafeBufferPointer { table.find($0) } }
        for (i, t) in tokens.enumerated() { #expect(find(t) == i, "\(t)") }
        for miss in ["", "t", "t0", "t0xx", "t300x", "abcd", "b", "99", "A"] { #expect(find(miss) == nil, "\(miss)") }
    }

    /// Queries through the byte path rank as the token-list path scores: every document
    /// word finds its capability, stop words and separators do not matter, and a goal with
    /// no tokens finds nothing.
    @Test func everyIndexedWordFindsItsCapability() throws {
        let r = CapabilityRegistry()
        let words = (0..<40).map { "word\($0)" }
        for (i, chunk) in stride(from: 0, to: words.count, by: 10).enumerated() {
            try r.register(Capability(capabilityID: "ns.cap\(i)", name: "Cap \(i)",
                                      description: words[chunk..<chunk + 10].joined(separator: " "), safetyClass: .read))
        }
        for (n, w) in words.enumerated() {
            #expect(r.search("please show me the \(w.uppercased())!").map(\.capabilityID) == ["ns.cap\(n / 10)"])
        }
        #expect(r.search("the of and").isEmpty)
        #expect(r.search("").isEmpty)
        // An id's own tokens (term matches plus the prefix bonus of "ns.cap2") rank it first.
        #expect(r.search("ns cap2").first?.capabilityID == "ns.cap2")
        let index = r.currentIndex()
        #expect(index.score(["word3", "word3"]).touched == [0])
    }
}
