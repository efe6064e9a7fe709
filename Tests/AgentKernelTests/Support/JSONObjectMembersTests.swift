import CapgateTesting
import Testing
@testable import AgentKernel

/// `JSONObject.members` (expand's one-pass read of its query and the grant's constraints)
/// answers exactly what the subscripts answer, on seeded random objects whose keys mix the
/// names read, look-alikes (another case, a combining accent, a prefix) and repeated keys
/// (built with `appendUnchecked`: the first one wins, as `index(of:)` finds it).
@Suite struct JSONObjectMembersTests {
    static let pool = ["filter", "fields", "offset", "limit", "Filter", "fi\u{301}lter", "fiel", "limits", "",
                       "max_rows", "allowed_fields", "scope", "scop\u{E9}", "scope\u{301}", "x"]

    @Test func sameAsTheSubscripts() {
        var g = SplitMix64(seed: 0x6D65_6D62_6572_7331)
        for _ in 0..<3_000 {
            var o = JSONObject()
            for n in 0..<g.below(8) {
                let key = Self.pool[g.below(Self.pool.count)]
                o.appendUnchecked(key, g.below(3) == 0 ? .null : .int(n))  // a null member is present
            }
            let q = o.members("filter", "fields", "offset", "limit")
            #expect(q.0 == o["filter"] && q.1 == o["fields"] && q.2 == o["offset"] && q.3 == o["limit"], "\(o)")
            let c = o.members("max_rows", "allowed_fields", "scope")
            #expect(c.0 == o["max_rows"] && c.1 == o["allowed_fields"] && c.2 == o["scope"] && c.3 == nil, "\(o)")
        }
    }
}
