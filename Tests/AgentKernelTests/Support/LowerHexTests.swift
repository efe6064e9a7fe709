import Testing
@testable import AgentKernel

/// `LowerHex` (ids, MACs, the dev secret) against the standard library's radix formatting.
@Suite struct LowerHexTests {
    @Test func everyByteIsItsTwoLowercaseDigits() {
        for v in 0...255 {
            let expected = (v < 16 ? "0" : "") + String(v, radix: 16)
            #expect([UInt8(v)].withUnsafeBufferPointer(LowerHex.string) == expected, "byte \(v)")
        }
    }

    @Test func aRunOfBytesIsTheirDigitsInOrder() {
        let bytes: [UInt8] = [0x00, 0xff, 0x10, 0xa5, 0x5a, 0x01]
        #expect(bytes.withUnsafeBufferPointer(LowerHex.string) == "00ff10a55a01")
        #expect([UInt8]().withUnsafeBufferPointer(LowerHex.string) == "")
    }
}
