import CapgateServer
import Testing

/// The sans-IO rules of the CRL warnings (``RevocationWarnings``); the gateway-level
/// scenarios are in CapgatePKIOpsTests/CRLEdgeCaseTests.swift.
struct RevocationWarningsTests {
    @Test func freshDueSoonStaleAndRepeats() {
        var w = RevocationWarnings(windowSeconds: 86_400)
        let next: Int64 = 1_000_000
        #expect(w.check(nextUpdate: nil, now: next + 10) == nil, "no CRL: nothing to say")
        #expect(w.check(nextUpdate: next, now: next - 86_401) == nil, "outside the window")
        let soon = w.check(nextUpdate: next, now: next - 7200)
        #expect(soon?.isError == false)
        #expect(soon?.message.contains("in 2h") == true)
        #expect(w.check(nextUpdate: next, now: next - 3601) == nil, "repeated at most once an hour")
        let stale = w.check(nextUpdate: next, now: next)
        #expect(stale?.isError == true, "nextUpdate itself is stale: the change is said at once")
        #expect(w.check(nextUpdate: next, now: next + 3599) == nil)
        #expect(w.check(nextUpdate: next, now: next + 3600)?.isError == true, "an hour later, again")
        // A fresh CRL resets: the next approach is warned at once.
        #expect(w.check(nextUpdate: next + 10 * 86_400, now: next + 3601) == nil)
        #expect(w.check(nextUpdate: next + 10 * 86_400, now: next + 10 * 86_400 - 60)?.isError == false)
    }

    @Test func offMessageOnlyForAMissingOptionalCRL() {
        #expect(RevocationWarnings.revocationOffMessage(crlOptional: true, crlPath: "/p/crl.pem", checking: false)?
                    .contains("/p/crl.pem") == true)
        #expect(RevocationWarnings.revocationOffMessage(crlOptional: true, crlPath: "/p/crl.pem", checking: true) == nil)
        #expect(RevocationWarnings.revocationOffMessage(crlOptional: false, crlPath: "/p/crl.pem", checking: false) == nil)
        #expect(RevocationWarnings.revocationOffMessage(crlOptional: true, crlPath: nil, checking: false) == nil)
    }
}
