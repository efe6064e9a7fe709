import Testing
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
@testable import AgentKernel

@Suite struct FileRevocationStoreTests {
    let t0 = Timestamp(microseconds: 1_767_323_045_000_000)

    func tempPath() -> String {
        var template = Array("/tmp/capgate-revoc-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        return dir + "/revocations.jsonl"
    }

    func lines(_ path: String) -> [String] {
        guard let f = fopen(path, "r") else { return [] }
        defer { fclose(f) }
        var out: [String] = []
        var buf = [CChar](repeating: 0, count: 4096)
        while fgets(&buf, 4096, f) != nil { out.append(String(cString: buf)) }
        return out
    }

    func append(_ path: String, _ text: String) {
        let f = fopen(path, "a")!
        fputs(text, f)
        fclose(f)
    }

    @Test func revocationsSurviveReopen() throws {
        let path = tempPath()
        let clock = TPManualClock(now: t0)
        do {
            let s = try FileRevocationStore(path: path, clock: clock)
            s.revoke("a")
            s.track(principalID: "p", tokenID: "b", expiresAt: t0.adding(seconds: 60))
            s.track(principalID: "p", tokenID: "c", expiresAt: t0.adding(seconds: 60))
            s.track(principalID: "q", tokenID: "old", expiresAt: t0.adding(seconds: -5))
            s.revoke("old")
            #expect(s.revokeAll(principalID: "p") == 2)
            s.track(principalID: "p", tokenID: "d", expiresAt: t0.adding(seconds: 60))
            #expect(s.sweep(now: t0) == 1)
            #expect(s.persistenceError == nil)
        }
        let s = try FileRevocationStore(path: path, clock: clock)
        #expect(s.isRevoked("a") && s.isRevoked("b") && s.isRevoked("c"))
        #expect(!s.isRevoked("d"))
        #expect(!s.isRevoked("old"))  // swept before the restart
        #expect(s.sweep(now: t0) == 0)
        #expect(s.revokeAll(principalID: "p") == 1)  // only "d": the index was cleared before
        #expect(lines(path).first == #"{"format":"capgate-revocations","version":1}"# + "\n")
    }

    @Test func tornFinalLineIsDropped() throws {
        let path = tempPath()
        do { try FileRevocationStore(path: path).revoke("a") }
        append(path, #"{"op":"revoke","tok"#)
        do {
            let s = try FileRevocationStore(path: path)
            #expect(s.isRevoked("a"))
            s.revoke("b")
        }
        let s = try FileRevocationStore(path: path)
        #expect(s.isRevoked("a") && s.isRevoked("b"))
        #expect(lines(path).count == 3)
    }

    /// fuzz/revocation_log: a crash while the header itself was written left a torn first line;
    /// the open dropped it but wrote no header, so the next revoke's line came first and the
    /// following start failed ("not a capgate revocation log header").
    @Test func tornHeaderIsRewrittenBeforeAnyEvent() throws {
        let path = tempPath()
        append(path, #"{"format":"capgate-rev"#)
        do { try FileRevocationStore(path: path).revoke("a") }
        let s = try FileRevocationStore(path: path)
        #expect(s.isRevoked("a"))
        #expect(lines(path) == [#"{"format":"capgate-revocations","version":1}"# + "\n", #"{"op":"revoke","token_id":"a"}"# + "\n"])
    }

    @Test func corruptLineFailsClosed() throws {
        let path = tempPath()
        do { try FileRevocationStore(path: path).revoke("a") }
        append(path, "garbage\n")
        #expect(throws: FileRevocationStoreError.self) { try FileRevocationStore(path: path) }
        let other = tempPath()
        append(other, "{\"not\":\"a header\"}\n")
        #expect(throws: FileRevocationStoreError.self) { try FileRevocationStore(path: other) }
    }

    @Test func secondOpenerIsRefused() throws {
        let path = tempPath()
        let s = try FileRevocationStore(path: path)
        #expect(throws: FileRevocationStoreError.self) { try FileRevocationStore(path: path) }
        s.revoke("x")
        #expect(s.isRevoked("x"))
    }

    @Test func compactsLargeLogsOnOpen() throws {
        let path = tempPath()
        let clock = TPManualClock(now: t0)
        do {
            let s = try FileRevocationStore(path: path, clock: clock)
            for i in 0..<1500 { s.track(principalID: "p", tokenID: "t\(i)", expiresAt: t0.adding(seconds: -1)) }
            s.track(principalID: "p", tokenID: "live", expiresAt: t0.adding(seconds: 60))
            s.revoke("live")
            s.revoke("forever")
            _ = s.sweep(now: t0)
        }
        #expect(lines(path).count > 1500)
        do {
            let s = try FileRevocationStore(path: path, clock: clock)
            #expect(s.isRevoked("live") && s.isRevoked("forever"))
            #expect(!s.isRevoked("t3"))
        }
        // header + track(live) + revoke(forever) + revoke(live)
        #expect(lines(path).count == 4)
        let s = try FileRevocationStore(path: path, clock: clock)
        #expect(s.isRevoked("live") && s.isRevoked("forever"))
        #expect(s.revokeAll(principalID: "p") == 0)  // "live" is tracked but already revoked
    }

    /// The threshold is a parameter (the fuzz target compacts small logs with it): below it a
    /// log full of expired tracks is left alone, above it the same log is rewritten.
    @Test func compactionThresholdIsAParameter() throws {
        let path = tempPath()
        let clock = TPManualClock(now: t0)
        do {
            let s = try FileRevocationStore(path: path, clock: clock)
            for i in 0..<20 { s.track(principalID: "p", tokenID: "t\(i)", expiresAt: t0.adding(seconds: -1)) }
            s.revoke("kept")
            _ = s.sweep(now: t0)
        }
        let before = lines(path).count
        #expect(before == 23)  // header + 20 tracks + revoke + sweep
        _ = try FileRevocationStore(path: path, clock: clock)  // default threshold: 22 events is too few
        #expect(lines(path).count == before)
        let s = try FileRevocationStore(path: path, clock: clock, compactionMinEvents: 8)
        #expect(lines(path).count == 2)  // header + revoke(kept)
        #expect(s.isRevoked("kept") && !s.isRevoked("t0"))
    }

    @Test func concurrentRevocationsAllPersist() throws {
        let path = tempPath()
        do {
            let s = try FileRevocationStore(path: path)
            DispatchQueue.concurrentPerform(iterations: 200) { i in s.revoke("tok-\(i)") }
        }
        let s = try FileRevocationStore(path: path)
        #expect((0..<200).allSatisfy { s.isRevoked("tok-\($0)") })
    }

    @Test func worksBehindTheProvider() throws {
        let path = tempPath()
        let clock = TPManualClock(now: t0)
        let token: CapabilityToken
        do {
            let p = HMACTokenProvider(secret: "k", clock: clock, revocations: try FileRevocationStore(path: path, clock: clock))
            token = p.issue(capabilityID: "c", principalID: "alice")
            #expect(p.revokeAll(principalID: "alice") == 1)
        }
        let p = HMACTokenProvider(secret: "k", clock: clock, revocations: try FileRevocationStore(path: path, clock: clock))
        #expect(throws: KernelError(.tokenRevoked, "Token '\(token.tokenID)' has been revoked.")) {
            try p.verify(token, expectedPrincipalID: "alice", expectedCapabilityID: "c")
        }
    }
}

/// `closeLog()` releases the log's lock at once (a same-process restart reopens it) and nothing
/// written afterwards claims durability.
@Suite struct FileRevocationStoreCloseTests {
    @Test func closeReleasesTheLockWhileStillReferenced() throws {
        let path = FileRevocationStoreTests().tempPath()
        let first = try FileRevocationStore(path: path)
        first.revoke("a")
        #expect(throws: FileRevocationStoreError.self) { _ = try FileRevocationStore(path: path) }
        first.closeLog()
        first.closeLog()  // idempotent
        let second = try FileRevocationStore(path: path)
        #expect(second.isRevoked("a"))
        // The closed store still denies in memory, but its writes count as failed (5xx upstream).
        let before = first.writeFailures
        first.revoke("b")
        #expect(first.isRevoked("b"))
        #expect(first.writeFailures == before + 1)
        #expect(!second.isRevoked("b"))
        withExtendedLifetime(first) {}
    }
}
