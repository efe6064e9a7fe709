import AgentKernel
import CapgateServer
import CapgateTesting
import Foundation
import Testing

/// The demo as `make run` serves it, called by curl (an independent TLS + HTTP/2 stack)
/// with the demo certificates, and the printed `DemoConfig.curlExample` run verbatim.
@Suite(.timeLimit(.minutes(1)))
struct DemoCurlTests {
    static let curl = "/usr/bin/curl"

    @Test func curlWithTheDemoCertificates() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.curl), "curl is missing (apt-get install curl)")
        try await withGateway { gw in
            let pki = gw.stateDir + "/pki"
            let r = try await runProcess(Self.curl, [
                "--silent", "--show-error", "--max-time", "20", "--http2",
                "--cacert", pki + "/ca.pem", "--cert", pki + "/agents/bob.pem", "--key", pki + "/agents/bob.key",
                "-H", "content-type: application/json", "-d", "{}", "-w", "\n%{http_code} %{http_version}",
                "https://localhost:\(gw.port)/v1/list_capabilities",
            ])
            #expect(r.status == 0, "curl: \(r.stderr)")
            let lines = r.stdout.split(separator: "\n")
            #expect(lines.last == "200 2")
            let caps = try JSONParser.parse(String(lines.first ?? ""))
            #expect(caps.arrayValue?.compactMap { $0["capability_id"]?.stringValue }
                    == DemoConfig.capabilities.map(\.capability.capabilityID))
        }
    }

    @Test func thePrintedCurlExampleWorks() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.curl), "curl is missing (apt-get install curl)")
        try await withGateway { gw in
            let command = DemoConfig.curlExample(stateDir: gw.stateDir, host: "127.0.0.1", port: Int(gw.port))
            #expect(command.contains("--http2") && command.contains("/agents/alice.pem"))
            let r = try await runProcess("/usr/bin/timeout", ["30", "/bin/sh", "-c", command + " --silent --show-error"])
            #expect(r.status == 0, "sh: \(r.stderr)")
            let requests = try JSONParser.parse(r.stdout)
            #expect(requests.arrayValue?.first?["capability_id"]?.stringValue == "billing.list_invoices")
        }
    }

    /// `DemoConfig.prepare` creates the pinned layout once and reuses it.
    @Test func demoStateLayoutIsCreatedOnceAndReused() throws {
        let dir = try makeTempDirectory("demo")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try DemoConfig.prepare(stateDir: dir, host: "127.0.0.1", port: 8443)
        let secret = try SecretFile.loadOrCreate(path: first.secretFile)
        let caBefore = try String(contentsOfFile: dir + "/pki/ca.pem", encoding: .utf8)
        _ = try DemoConfig.prepare(stateDir: dir, host: "127.0.0.1", port: 8443)
        #expect(try String(contentsOfFile: dir + "/pki/ca.pem", encoding: .utf8) == caBefore)
        #expect(try SecretFile.loadOrCreate(path: first.secretFile) == secret)
        for (path, mode) in [("pki/ca.key", 0o600), ("secret", 0o600), ("pki/agents/alice.key", 0o600)] {
            let attrs = try FileManager.default.attributesOfItem(atPath: dir + "/" + path)
            #expect((attrs[.posixPermissions] as? Int) == mode, "\(path)")
        }
        for name in ["alice", "bob", "ops"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/pki/agents/\(name).pem"))
        }
        #expect(first.identities.principal(for: demoID("alice"))
                == Principal(principalID: "alice", roles: ["reader"], attributes: ["tenant": "acme"]))
        #expect(first.identities.principal(for: demoID("ops"))?.roles == ["admin"])
    }
}
