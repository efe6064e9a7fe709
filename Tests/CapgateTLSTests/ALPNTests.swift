import Testing
@testable import CapgateTLS

@Suite struct ALPNTests {
    func offset(_ list: [UInt8]) -> Int? {
        list.withUnsafeBufferPointer { ALPN.offsetOfH2(inProtocolList: $0) }
    }

    @Test func findsH2AnywhereInTheList() {
        #expect(offset(ALPN.wireList(["h2"])!) == 1)
        #expect(offset(ALPN.wireList(["http/1.1", "h2"])!) == 10)
        #expect(offset(ALPN.wireList(["h2c", "h2"])!) == 5)
    }

    @Test func refusesListsWithoutH2OrMalformed() {
        #expect(offset(ALPN.wireList(["http/1.1"])!) == nil)
        #expect(offset(ALPN.wireList(["h2c"])!) == nil)
        #expect(offset([]) == nil)
        #expect(offset([2, 0x68]) == nil)              // truncated entry
        #expect(offset([2, 0x68, 0x32, 0]) == nil)     // zero-length entry after h2
        #expect(offset([5, 0x68, 0x32]) == nil)        // length runs past the end
    }

    @Test func wireListEncoding() {
        #expect(ALPN.wireList(["h2", "http/1.1"]) == [2, 0x68, 0x32, 8] + Array("http/1.1".utf8))
        #expect(ALPN.wireList([]) == nil)
        #expect(ALPN.wireList([""]) == nil)
        #expect(ALPN.wireList([String(repeating: "x", count: 256)]) == nil)
    }
}
