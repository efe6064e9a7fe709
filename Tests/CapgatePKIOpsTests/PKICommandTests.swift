import CapgatePKI
import CapgateServer
import CapgateTesting
import Foundation
import Testing

/// `capgate pki ...` end to end: the built binary, run as an operator would.
@Suite("capgate pki CLI")
struct PKICommandTests {
    @Test func initRefusesToOverwrite() async throws {
        let dir = try OpsTempDir()
        let pki = dir.file("pki")
        let first = try await capgate(["pki", "init", "--dir", pki, "--trust-domain", "example.org"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("spiffe://example.org"))
        #expect(try fileMode(pki + "/ca.key") == 0o600)
        let ca = try Data(contentsOf: URL(fileURLWithPath: pki + "/ca.pem"))
        let second = try await capgate(["pki", "init", "--dir", pki])
        #expect(second.status == 1)
        #expect(second.stderr.contains("already exists"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: pki + "/ca.pem")) == ca)
    }

    @Test func issueWritesA0600KeyAndOneURISAN() async throws {
        let dir = try OpsTempDir()
        let pki = dir.file("pki")
        #expect(try await capgate(["pki", "init", "--dir", pki, "--trust-domain", "example.org"]).status == 0)
        let r = try await capgate(["pki", "issue", "--dir", pki, "--agent", "billing", "--ttl", "2h"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try fileMode(pki + "/agents/billing.key") == 0o600)
        let cert = try Certificate(pem: Array(Data(contentsOf: URL(fileURLWithPath: pki + "/agents/billing.pem"))))
        #expect(cert.uriSANs == ["spiffe://example.org/agent/billing"])
        #expect(cert.dnsSANs.isEmpty && cert.ipSANs.isEmpty)
        let ext = cert.extensions
        #expect(ext.extendedKeyUsage == ["clientAuth"])
        #expect(ext.keyUsage == .digitalSignature && ext.isCritical("keyUsage"))
        #expect(ext.basicConstraints?.isCA == false && ext.isCritical("basicConstraints"))
        #expect(cert.notAfter - cert.notBefore == 2 * 3600 + PKIDefaults.clockSkewSeconds)
        #expect(r.stdout.contains(cert.serialHex))

        // Reissuing replaces the files (new serial, new key).
        let key = try Data(contentsOf: URL(fileURLWithPath: pki + "/agents/billing.key"))
        #expect(try await capgate(["pki", "issue", "--dir", pki, "--agent", "billing"]).status == 0)
        let again = try Certificate(pem: Array(Data(contentsOf: URL(fileURLWithPath: pki + "/agents/billing.pem"))))
        #expect(again.serialHex != cert.serialHex)
        #expect(try Data(contentsOf: URL(fileURLWithPath: pki + "/agents/billing.key")) != key)
        #expect(again.notAfter - again.notBefore == 24 * 3600 + PKIDefaults.clockSkewSeconds)
    }

    @Test func hostIssuesADriverHostLeaf() async throws {
        let dir = try OpsTempDir()
        let pki = dir.file("pki")
        #expect(try await capgate(["pki", "init", "--dir", pki, "--trust-domain", "example.org"]).status == 0)
        let r = try await capgate(["pki", "host", "--dir", pki, "--name", "pydrivers"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try fileMode(pki + "/hosts/pydrivers.key") == 0o600)
        let cert = try Certificate(pem: Array(Data(contentsOf: URL(fileURLWithPath: pki + "/hosts/pydrivers.pem"))))
        #expect(cert.uriSANs == ["spiffe://example.org/driver-host/pydrivers"])
        #expect(cert.dnsSANs == ["localhost"] && cert.ipSANs == ["127.0.0.1", "::1"])
        #expect(cert.extensions.extendedKeyUsage == ["serverAuth", "clientAuth"])
        #expect(cert.extensions.basicConstraints?.isCA == false)
        #expect(cert.notAfter - cert.notBefore == 90 * 86_400 + PKIDefaults.clockSkewSeconds)
        #expect(r.stdout.contains("spiffe://example.org/driver-host/pydrivers") && r.stdout.contains(cert.serialHex))
        let named = try await capgate(["pki", "host", "--dir", pki, "--name", "h2", "--dns", "drivers.internal",
                                       "--ip", "10.0.0.9", "--ttl", "1d"])
        #expect(named.status == 0, "\(named.stderr)")
        let h2 = try Certificate(pem: Array(Data(contentsOf: URL(fileURLWithPath: pki + "/hosts/h2.pem"))))
        #expect(h2.dnsSANs == ["drivers.internal"] && h2.ipSANs == ["10.0.0.9"])
        let entries = try PKIDirectory(path: pki).list()
        #expect(entries.contains { $0.kind == .host && $0.name == "pydrivers" && $0.serialHex == cert.serialHex })
        #expect(try await capgate(["pki", "host", "--dir", pki, "--name", "../x"]).status == 1)
        #expect(try await capgate(["pki", "host", "--dir", pki]).status == 2)
    }

    @Test func revokeByAgentAndBySerialThenCRLAndList() async throws {
        let dir = try OpsTempDir()
        let pki = dir.file("pki")
        #expect(try await capgate(["pki", "init", "--dir", pki]).status == 0)
        for agent in ["a1", "a2", "a3"] {
            #expect(try await capgate(["pki", "issue", "--dir", pki, "--agent", agent]).status == 0)
        }
        #expect(try await capgate(["pki", "server", "--dir", pki, "--dns", "localhost", "--ip", "127.0.0.1"]).status == 0)
        let entries = try PKIDirectory(path: pki).list()
        let a2 = try #require(entries.first { $0.name == "a2" }).serialHex
        let a1 = try #require(entries.first { $0.name == "a1" }).serialHex

        let byAgent = try await capgate(["pki", "revoke", "--dir", pki, "--agent", "a1"])
        #expect(byAgent.status == 0, "\(byAgent.stderr)")
        #expect(byAgent.stdout.contains(a1))
        let bySerial = try await capgate(["pki", "revoke", "--dir", pki, "--serial", a2.uppercased()])
        #expect(bySerial.status == 0, "\(bySerial.stderr)")
        let twice = try await capgate(["pki", "revoke", "--dir", pki, "--serial", a2])
        #expect(twice.status == 0 && twice.stdout.contains("already revoked"))
        let unknown = try await capgate(["pki", "revoke", "--dir", pki, "--agent", "nobody"])
        #expect(unknown.status == 1)

        let crl = try await capgate(["pki", "crl", "--dir", pki])
        #expect(crl.status == 0 && crl.stdout.contains("2 revoked"), "\(crl.stdout)\(crl.stderr)")
        let list = try RevocationList(pem: Array(Data(contentsOf: URL(fileURLWithPath: pki + "/crl.pem"))))
        #expect(Set(list.revokedSerials) == [a1, a2])

        let listed = try await capgate(["pki", "list", "--dir", pki])
        #expect(listed.status == 0)
        let rows = listed.stdout.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(rows.first == ["KIND", "NAME", "IDENTITY", "SERIAL", "NOT_AFTER", "STATUS"])
        func status(_ name: String) -> String? { rows.first { $0.count == 6 && $0[1] == name }?[5] }
        #expect(status("a1")?.hasPrefix("revoked") == true)
        #expect(status("a2")?.hasPrefix("revoked") == true)
        #expect(status("a3") == "valid")
        #expect(status("server") == "valid")
        #expect(rows.contains { $0.count == 6 && $0[1] == "a3" && $0[2] == "spiffe://capgate.local/agent/a3" })
    }

    @Test func usageErrorsExitTwo() async throws {
        let dir = try OpsTempDir()
        #expect(try await capgate(["pki", "issue", "--agent", "x"]).status == 2)  // no --dir
        let typo = try await capgate(["pki", "server", "--dir", dir.file("p"), "--dsn", "x"])
        #expect(typo.status == 2 && typo.stderr.contains("unknown option --dsn"))
        #expect(try await capgate(["pki", "revoke", "--dir", dir.file("p")]).status == 2)
        #expect(try await capgate(["pki", "frobnicate", "--dir", dir.file("p")]).status == 2)
        #expect(try await capgate(["pki", "issue", "--dir", dir.file("p"), "--agent", "x", "--ttl", "5y"]).status == 1)
        #expect(try await capgate(["pki", "list", "--dir", dir.file("nothing")]).status == 1)
        let help = try await capgate(["pki", "help"])
        #expect(help.status == 0 && help.stdout.contains("capgate pki revoke"))
    }

    /// The embedded default's directory has the same layout: the CLI issues and revokes on it
    /// while the gateway runs, and the gateway follows (file watch).
    @Test func worksOnTheEmbeddedDefaultsDirectoryWhileServing() async throws {
        let f = try GatewayFixture(watchInterval: 0.05)
        defer { f.stop() }
        let issued = try await capgate(["pki", "issue", "--dir", f.pki.path, "--agent", "alice", "--ttl", "1h"])
        #expect(issued.status == 0, "\(issued.stderr)")
        let alice = try f.client(agent: "alice")
        #expect(await f.works(alice))
        alice.close()

        #expect(try await capgate(["pki", "revoke", "--dir", f.pki.path, "--agent", "alice"]).status == 0)
        #expect(await eventually { await f.refused(agent: "alice") })
        let bob = try f.client(agent: "bob")
        defer { bob.close() }
        #expect(await f.works(bob))
    }
}

/// `capgate pki server --crl-url`: the extension as the openssl CLI (and so testssl.sh, which
/// reads `openssl x509 -text`) sees it.
@Suite("capgate pki server --crl-url")
struct PKIServerCRLURLTests {
    @Test func crlURLIsInTheServerCertificateAsOpenSSLPrintsIt() async throws {
        let dir = try OpsTempDir()
        let pki = dir.file("pki")
        #expect(try await capgate(["pki", "init", "--dir", pki, "--trust-domain", "example.org"]).status == 0)
        let r = try await capgate(["pki", "server", "--dir", pki, "--crl-url", "http://pki.example.org/ca.crl",
                                   "--crl-url", "https://mirror.example.org/ca.crl"])
        #expect(r.status == 0, "\(r.stderr)")
        let cert = try Certificate(pem: Array(Data(contentsOf: URL(fileURLWithPath: pki + "/server.pem"))))
        #expect(cert.crlDistributionURIs == ["http://pki.example.org/ca.crl", "https://mirror.example.org/ca.crl"])
        let text = try await runProcess("/bin/sh", ["-c", "openssl x509 -noout -text -in '\(pki)/server.pem'"])
        #expect(text.status == 0)
        let lines = text.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let at = try #require(lines.firstIndex(of: "X509v3 CRL Distribution Points:"))
        #expect(lines[at + 1 ..< at + 4] == ["Full Name:", "URI:http://pki.example.org/ca.crl",
                                             "URI:https://mirror.example.org/ca.crl"])
    }

    @Test func aBadCRLURLIsRefusedAndNothingIsWritten() async throws {
        let dir = try OpsTempDir()
        let pki = dir.file("pki")
        #expect(try await capgate(["pki", "init", "--dir", pki, "--trust-domain", "example.org"]).status == 0)
        let r = try await capgate(["pki", "server", "--dir", pki, "--crl-url", "not a url"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("CRL URL"))
        #expect(!FileManager.default.fileExists(atPath: pki + "/server.pem"))
    }
}
