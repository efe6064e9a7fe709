import COpenSSL
import Testing
import CapgateX509

@Suite struct SerialNumberTests {
    @Test func normalizeIsLowercaseWithoutLeadingZeros() {
        #expect(SerialNumber.normalize("00AbC") == "abc")
        #expect(SerialNumber.normalize("0A1b") == "a1b")
        #expect(SerialNumber.normalize("000") == "0")
        #expect(SerialNumber.normalize("1001") == "1001")
    }

    @Test func validHexIsOneToFortyDigits() {
        #expect(SerialNumber.isValidHex("deadBEEF"))
        #expect(SerialNumber.isValidHex(String(repeating: "a", count: 40)))
        #expect(!SerialNumber.isValidHex(""))
        #expect(!SerialNumber.isValidHex("xyz"))
        #expect(!SerialNumber.isValidHex(String(repeating: "a", count: 41)))
    }

    /// OpenSSL prints whole bytes ("0A1B"); the reader returns the canonical form.
    @Test func bignumHexIsCanonical() throws {
        var bn: OpaquePointer? = nil
        #expect(BN_hex2bn(&bn, "0A1B") > 0)
        let number = try #require(bn)
        defer { BN_free(number) }
        #expect(SerialNumber.hex(bignum: number) == "a1b")
        let integer = try #require(BN_to_ASN1_INTEGER(number, nil))
        defer { ASN1_INTEGER_free(integer) }
        #expect(SerialNumber.hex(integer) == "a1b")
        #expect(SerialNumber.hex(nil) == nil)
    }
}
