import Foundation
import Testing
@testable import CapgatePKI

@Suite struct PKIDirectoryTests {
    @Test func initCAWritesKeysWith0600EvenUnderAPermissiveUmask() throws {
        let tmp = try TestDirectory()
        let dir = PKIDirectory(path: tmp.path + "/pki/")
        let old = umask(0)  // world-writable default: our explicit modes must still win
        defer { umask(old) }
        let ca = try dir.initCA(trustDomain: "example.org", now: testNow)
        try dir.issueAgent(name: "alice", now: testNow)
        try dir.issueServer(dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], now: testNow)
        #expect(try tmp.mode("pki") == 0o700)
        #expect(try tmp.mode("pki/ca.key") == 0o600)
        #expect(try tmp.mode("pki/ca.pem") == 0o644)
        #expect(try tmp.mode("pki/agents") == 0o700)
        #expect(try tmp.mode("pki/agents/alice.key") == 0o600)
        #expect(try tmp.mode("pki/agents/alice.pem") == 0o644)
        #expect(try tmp.mode("pki/server.key") == 0o600)
        #expect(try tmp.mode("pki/index.json") == 0o644)
        // No temporary files are left behind by the atomic writes.
        #expect(try tmp.snapshot().keys.filter { $0.contains(".tmp-") }.isEmpty)
        let loaded = try dir.loadCA()
        #expect(try loaded.certificate.derBytes() == ca.certificate.derBytes())
        #expect(dir.caCertificatePath == tmp.path + "/pki/ca.pem")
    }

    @Test func initCARefusesToOverwrite() throws {
        let tmp = try TestDirectory()
        let dir = PKIDirectory(path: tmp.path)
        try dir.initCA(trustDomain: "example.org", now: testNow)
        let before = try tmp.snapshot()
        #expect(throws: PKIError.alreadyExists(path: dir.caCertificatePath)) {
            try dir.initCA(trustDomain: "example.org", now: testNow)
        }
        #expect(try tmp.snapshot() == before)
        // Half a CA is refused too (the key alone must not be replaced).
        try FileManager.default.removeItem(atPath: dir.caCertificatePath)
        #expect(throws: PKIError.alreadyExists(path: dir.caKeyPath)) {
            try dir.initCA(trustDomain: "example.org", now: testNow)
        }
        #expect(throws: PKIError.self) { try dir.ensureDevPKI(agents: [], trustDomain: "example.org", now: testNow) }
    }

    @Test func reissueReplacesFilesAndKeepsHistory() throws {
        let tmp = try TestDirectory()
        let dir = PKIDirectory(path: tmp.path)
        try dir.initCA(trustDomain: "example.org", now: testNow)
        let first = try dir.issueAgent(name: "alice", now: testNow)
        let second = try dir.issueAgent(name: "alice", now: testNow + 10)
        #expect(first.certificate.serialHex != second.certificate.serialHex)
        let onDisk = try Certificate(pem: try tmp.bytes("agents/alice.pem"))
        #expect(onDisk.serialHex == second.certificate.serialHex)
        #expect(onDisk.matches(try PrivateKey(pem: try tmp.bytes("agents/alice.key"))))
        let entries = try dir.list()
        #expect(entries.map(\.kind) == [.ca, .agent, .agent])
        #expect(entries.filter { $0.kind == .agent }.map(\.serialHex)
                == [first.certificate.serialHex, second.certificate.serialHex])
        #expect(entries[1].identity == "spiffe://example.org/agent/alice")
        #expect(entries[1].notAfter == first.certificate.notAfter)
        #expect(entries.allSatisfy { $0.revokedAt == nil })
    }

    @Test func revokeAgentRevokesEverySerialAndWritesTheCRL() throws {
        let tmp = try TestDirectory()
        let dir = PKIDirectory(path: tmp.path)
        let ca = try dir.initCA(trustDomain: "example.org", now: testNow)
        let a1 = try dir.issueAgent(name: "alice", now: testNow).certificate.serialHex
        let a2 = try dir.issueAgent(name: "alice", now: testNow).certificate.serialHex
        let bob = try dir.issueAgent(name: "bob", now: testNow).certificate
        #expect(try dir.revoke(agent: "alice", now: testNow + 5).sorted() == [a1, a2].sorted())
        #expect(try dir.revoke(agent: "alice", now: testNow + 6) == [])
        #expect(throws: PKIError.unknownCertificate("agent carol")) { try dir.revoke(agent: "carol", now: testNow) }

        let crl = try dir.loadCRL()
        #expect(Set(crl.revokedSerials) == [a1, a2])
        #expect(crl.entries.allSatisfy { $0.revokedAt == testNow + 5 })
        #expect(crl.isSigned(by: ca.certificate))
        #expect(crl.crlNumber == 2)  // one CRL per revoke call
        try bob.verify(trustAnchors: [ca.certificate], revocationLists: [crl], at: testNow + 7)

        #expect(try dir.revoke(serial: bob.serialHex.uppercased(), now: testNow + 8))
        #expect(try !dir.revoke(serial: "000" + bob.serialHex, now: testNow + 9))
        #expect(try dir.loadCRL().revokedSerials.contains(bob.serialHex))
        #expect(throws: PKIError.self) {
            try bob.verify(trustAnchors: [ca.certificate], revocationLists: [try dir.loadCRL()], at: testNow + 10)
        }
        #expect(throws: PKIError.unknownCertificate("serial abc")) { try dir.revoke(serial: "ABC", now: testNow) }
        #expect(throws: PKIError.self) { try dir.revoke(serial: ca.certificate.serialHex, now: testNow) }
        let revokedAt = try dir.list().first { $0.serialHex == bob.serialHex }?.revokedAt
        #expect(revokedAt == testNow + 8)
        let crlNumber = try dir.writeCRL(now: testNow + 20).crlNumber
        #expect(crlNumber == 5)
    }

    @Test func ensureDevPKIIsIdempotent() throws {
        let tmp = try TestDirectory()
        let dir = PKIDirectory(path: tmp.path + "/dev")
        let first = try dir.ensureDevPKI(agents: ["alice", "bob"], trustDomain: "example.org", now: testNow)
        #expect(first == DevPKIReport(createdCA: true, issuedServer: true, issuedAgents: ["alice", "bob"], wroteCRL: true))
        let before = try tmp.snapshot()
        #expect(before.keys.sorted() == ["dev/.lock", "dev/agents/alice.key", "dev/agents/alice.pem", "dev/agents/bob.key",
                                         "dev/agents/bob.pem", "dev/ca.key", "dev/ca.pem", "dev/crl.pem",
                                         "dev/index.json", "dev/server.key", "dev/server.pem"])
        let second = try dir.ensureDevPKI(agents: ["alice", "bob"], trustDomain: "example.org", now: testNow + 60)
        #expect(!second.changed)
        #expect(try tmp.snapshot() == before)

        let server = try Certificate(pem: try tmp.bytes("dev/server.pem"))
        #expect(server.dnsSANs == ["localhost"])
        #expect(server.ipSANs == ["127.0.0.1", "::1"])
    }

    @Test func ensureDevPKICreatesOnlyWhatIsMissingOrUnusable() throws {
        let tmp = try TestDirectory()
        let dir = PKIDirectory(path: tmp.path)
        try dir.ensureDevPKI(agents: ["alice"], trustDomain: "example.org", now: testNow)
        let caBefore = try tmp.bytes("ca.pem")
        try FileManager.default.removeItem(atPath: dir.agentCertificatePath("alice"))
        let healed = try dir.ensureDevPKI(agents: ["alice", "carol"], trustDomain: "example.org", now: testNow)
        #expect(healed == DevPKIReport(issuedAgents: ["alice", "carol"]))
        // A key readable by others is treated as exposed and replaced.
        chmod(dir.agentKeyPath("carol"), 0o644)
        #expect(try dir.ensureDevPKI(agents: ["carol"], trustDomain: "example.org", now: testNow).issuedAgents == ["carol"])
        #expect(try tmp.mode("agents/carol.key") == 0o600)
        // Different server names reissue the server leaf only.
        let renamed = try dir.ensureDevPKI(agents: [], trustDomain: "example.org", serverDNSNames: ["gw.local"],
                                           serverIPAddresses: ["0:0::1"], now: testNow)
        #expect(renamed == DevPKIReport(issuedServer: true))
        #expect(try !dir.ensureDevPKI(agents: [], trustDomain: "example.org", serverDNSNames: ["gw.local"],
                                       serverIPAddresses: ["::1"], now: testNow).changed)
        // Past the leaves' lifetime (and the CRL's nextUpdate) everything but the CA is renewed.
        let later = testNow + PKIDefaults.devAgentTTL.components.seconds + 1
        let renewed = try dir.ensureDevPKI(agents: ["alice"], trustDomain: "example.org", now: later)
        #expect(renewed == DevPKIReport(issuedServer: true, issuedAgents: ["alice"], wroteCRL: true))
        #expect(try tmp.bytes("ca.pem") == caBefore)
        #expect(throws: PKIError.trustDomainMismatch(expected: "other.org", found: "example.org")) {
            try dir.ensureDevPKI(agents: [], trustDomain: "other.org", now: testNow)
        }
        #expect(throws: PKIError.self) { try dir.ensureDevPKI(agents: ["../x"], trustDomain: "example.org", now: testNow) }
    }

    @Test func insecureCAKeyAndCorruptIndexFailClosed() throws {
        let tmp = try TestDirectory()
        let dir = PKIDirectory(path: tmp.path)
        try dir.initCA(trustDomain: "example.org", now: testNow)
        chmod(dir.caKeyPath, 0o640)
        #expect(throws: PKIError.insecurePermissions(path: dir.caKeyPath, mode: 0o640)) { try dir.loadCA() }
        chmod(dir.caKeyPath, 0o600)
        try tmp.write("index.json", "{\"version\":1,\"trust_domain\":\"example.org\",\"crl_number\":0,\"certificates\":[{}]}")
        #expect(throws: PKIError.corruptIndex(reason: "certificates[0]")) { try dir.list() }
        #expect(throws: PKIError.self) { try dir.issueAgent(name: "alice", now: testNow) }
        #expect(throws: PKIError.notFound(path: tmp.path + "/missing")) {
            try PKIDirectory(path: tmp.path + "/missing").issueAgent(name: "a", now: testNow)
        }
    }

    @Test func indexRoundTrips() throws {
        var index = PKIIndex(trustDomain: "example.org", crlNumber: 3)
        index.entries = [
            .init(serialHex: "ab", kind: .agent, name: "a", identity: "spiffe://example.org/agent/a",
                  notBefore: 1, notAfter: 2, revokedAt: nil),
            .init(serialHex: "cd", kind: .server, name: "server", identity: "dns:localhost",
                  notBefore: 3, notAfter: 4, revokedAt: 5),
        ]
        let text = String(decoding: index.serialized(), as: UTF8.self)
        #expect(text.hasPrefix("{\"version\":1,\"trust_domain\":\"example.org\",\"crl_number\":3,\"certificates\":[\n  {"))
        #expect(try PKIIndex.parse(index.serialized()) == index)
        #expect(try PKIIndex.parse(PKIIndex(trustDomain: "t").serialized()) == PKIIndex(trustDomain: "t"))
        #expect(throws: PKIError.self) { try PKIIndex.parse(Array("{\"version\":2}".utf8)) }
    }
}
