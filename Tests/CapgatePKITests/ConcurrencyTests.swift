import Testing
@testable import CapgatePKI

/// The Sendable claims on CertificateAuthority / Certificate and the directory lock, exercised.
@Suite struct ConcurrencyTests {
    @Test func oneCAIssuesFromManyTasks() async throws {
        let ca = try CertificateAuthority.create(trustDomain: "example.org", now: testNow)
        let serials = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<16 {
                group.addTask {
                    let leaf = try ca.issueAgent(name: "agent\(i)", now: testNow).certificate
                    try leaf.verify(trustAnchors: [ca.certificate], at: testNow, purpose: .tlsClient)
                    return leaf.serialHex
                }
            }
            var out: [String] = []
            for try await s in group { out.append(s) }
            return out
        }
        #expect(Set(serials).count == 16)
    }

    @Test func concurrentDirectoryWritersKeepEveryIndexEntry() async throws {
        let tmp = try TestDirectory()
        let dir = PKIDirectory(path: tmp.path)
        try dir.initCA(trustDomain: "example.org", now: testNow)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<8 { group.addTask { try dir.issueAgent(name: "a\(i)", now: testNow) } }
            try await group.waitForAll()
        }
        // Without the flock, read-modify-write races would drop entries.
        #expect(try dir.list().filter { $0.kind == .agent }.map(\.name).sorted() == (0..<8).map { "a\($0)" })
    }
}
