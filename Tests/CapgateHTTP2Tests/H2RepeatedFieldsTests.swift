import CapgateCore
import CapgateTesting
import Testing
@testable import CapgateHTTP2

/// `H2ServerSession.regularField`: a request repeating the previous request's fields takes
/// their Strings (and, when all repeat, their array). Whatever the sequence, every request
/// is delivered with exactly the fields a fresh session delivers for it.
@Suite struct H2RepeatedFieldsTests {
    typealias Fields = [(String, String)]

    /// The request's fields as a session that saw no earlier request delivers them.
    static func fresh(_ path: String, _ fields: Fields, body: [UInt8]) throws -> H2Request {
        let lb = try Loopback(handler: nil)
        _ = lb.client.submitRequest(path: path, authority: "capgate.test", headers: fields, body: body)
        lb.pump()
        return try #require(lb.requests.first)
    }

    static func same(_ a: [(name: String, value: String)], _ b: [(name: String, value: String)]) -> Bool {
        a.map(\.name) == b.map(\.name) && a.map(\.value) == b.map(\.value)
    }

    static let pool: [(String, String)] = [
        ("content-type", "application/json"), ("content-type", "text/plain"),
        ("user-agent", "h2load nghttp2/1.52.0"), ("user-agent", "capgate-client/1 (a longer agent string)"),
        ("x-forwarded-proto", "http"), ("x-forwarded-proto", "https"), ("accept", "*/*"),
        ("x-empty", ""), ("x-unicode", "caf\u{e9} \u{1F600}"),
    ]

    @Test func repeatedAndChangedFieldListsAreDeliveredExactly() throws {
        let lb = try Loopback()  // echo: every stream is answered and closes
        var rng = SplitMix64(seed: 0xf1e1d5)
        var previous: Fields?
        var shared = 0
        for i in 0..<300 {
            // Mostly the previous list again; sometimes a prefix, a longer list, or a new one.
            var fields: Fields
            switch (previous, Int.random(in: 0..<6, using: &rng)) {
            case (let p?, 0...2): fields = p
            case (let p?, 3): fields = Array(p.prefix(Int.random(in: 0...p.count, using: &rng)))
            case (let p?, 4): fields = p + [Self.pool[Int.random(in: 0..<Self.pool.count, using: &rng)]]
            default:
                fields = (0..<Int.random(in: 0...4, using: &rng)).map { _ in
                    Self.pool[Int.random(in: 0..<Self.pool.count, using: &rng)]
                }
            }
            previous = fields
            let body: [UInt8] = i % 3 == 0 ? [] : Array("{\"n\":\(i)}".utf8)
            let before = lb.requests.count
            _ = lb.client.submitRequest(path: "/v1/r\(i)", authority: "capgate.test", headers: fields, body: body)
            lb.pump()
            #expect(lb.requests.count == before + 1)
            guard let got = lb.requests.last else { continue }
            let want = try Self.fresh("/v1/r\(i)", fields, body: body)
            #expect(Self.same(got.headers, want.headers), "request \(i): \(got.headers) vs \(want.headers)")
            #expect(got.contentType == want.contentType)
            #expect(got.body == want.body)
            if lb.requests.count >= 2, !got.headers.isEmpty,
               Self.same(got.headers, lb.requests[lb.requests.count - 2].headers) {
                // A full repeat shares the previous request's storage.
                let a = got.headers.withUnsafeBufferPointer { $0.baseAddress }
                let b = lb.requests[lb.requests.count - 2].headers.withUnsafeBufferPointer { $0.baseAddress }
                if a == b { shared += 1 }
            }
        }
        #expect(shared > 50)
        #expect(lb.server.streams.isEmpty)
    }

    /// An idle connection keeps the last request's fields only while they are small.
    @Test func onlyASmallFieldListIsKept() throws {
        let lb = try Loopback()
        let small: Fields = [("user-agent", "agent/1"), ("x-forwarded-proto", "http")]
        _ = lb.client.submitRequest(path: "/v1/a", authority: "capgate.test", headers: small, body: [])
        lb.pump()
        #expect(!lb.server.lastRequestFields.isEmpty)
        #expect(Self.same(lb.server.lastRequestFields, try #require(lb.requests.first).headers))
        let large: Fields = small + [("x-large", String(repeating: "v", count: H2ServerSession.repeatedFieldsMaxBytes))]
        _ = lb.client.submitRequest(path: "/v1/b", authority: "capgate.test", headers: large, body: [])
        lb.pump()
        #expect(lb.server.lastRequestFields.isEmpty)
        let delivered = lb.requests
        try #require(delivered.count == 2)
        #expect(Self.same(delivered[1].headers, try Self.fresh("/v1/b", large, body: []).headers))
        // The next request after the large one is read in full and kept again.
        _ = lb.client.submitRequest(path: "/v1/c", authority: "capgate.test", headers: small, body: [])
        lb.pump()
        #expect(Self.same(lb.requests[2].headers, try Self.fresh("/v1/c", small, body: []).headers))
        #expect(!lb.server.lastRequestFields.isEmpty)
    }

    /// A header block that trips a limit drops its fields: the next request (same fields)
    /// is still delivered with its own fields, compared with the last request that settled.
    @Test func aTrippedBlockLeavesTheNextRequestWhole() throws {
        var limits = GatewayLimits()
        limits.maxHeaderFields = 8  // the four pseudo-headers count too
        let lb = try Loopback(limits: limits)
        let fields: Fields = [("user-agent", "a long enough agent value"), ("x-forwarded-proto", "http")]
        _ = lb.client.submitRequest(path: "/v1/a", authority: "capgate.test", headers: fields, body: [])
        lb.pump()
        let tooMany: Fields = fields + [("x-1", "1"), ("x-2", "2"), ("x-3", "3")]  // 9 fields
        _ = lb.client.submitRequest(path: "/v1/b", authority: "capgate.test", headers: tooMany, body: [])
        lb.pump()
        _ = lb.client.submitRequest(path: "/v1/c", authority: "capgate.test", headers: fields, body: [])
        lb.pump()
        let delivered = lb.requests
        try #require(delivered.map(\.path) == ["/v1/a", "/v1/c"])
        let want = try Self.fresh("/v1/c", fields, body: [])
        #expect(Self.same(delivered[1].headers, want.headers))
        #expect(lb.responses.values.contains { $0.status == 431 })
    }
}
