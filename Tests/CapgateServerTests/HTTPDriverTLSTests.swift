import AgentKernel
import CapgateDrivers
import CapgatePKI
import CapgateServer
import CapgateTesting
import Foundation
import Testing

/// The HTTP driver against an HTTPS tool: `ca_file` verification, the system bundle refusing a
/// private CA, and a tool that requires a client certificate. Certificates come from the dev
/// PKI (`PKIDirectory.ensureDevPKI`): its server leaf names 127.0.0.1, its agent leaves are
/// client certificates.
@Suite(.timeLimit(.minutes(1)))
struct HTTPDriverTLSTests {
    static func call(_ config: HTTPDriverConfig) async -> Result<RawResult, KernelError> {
        do {
            let d = try HTTPDriver(config: config)
            return .success(try await d.execute(ExecutionContext(capabilityID: "op", principalID: "p", args: ["a": 1])))
        } catch let e as KernelError {
            return .failure(e)
        } catch {
            return .failure(KernelError(.agentKernelError, "\(error)"))
        }
    }

    @Test func verifiesTheToolAndPresentsAClientCertificate() async throws {
        let dir = try makeTempDirectory("httptls")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pki = PKIDirectory(path: dir + "/pki")
        _ = try pki.ensureDevPKI(agents: ["capgate"], trustDomain: "tools.test")

        let tlsPort = try await ToolServer.launchAnother(["--tls", pki.serverCertificatePath, pki.serverKeyPath])
        let mtlsPort = try await ToolServer.launchAnother(["--tls", pki.serverCertificatePath, pki.serverKeyPath,
                                                           "--client-ca", pki.caCertificatePath])
        func config(_ port: Int, _ tls: HTTPTLSFiles) -> HTTPDriverConfig {
            HTTPDriverConfig(id: "tool", timeoutSeconds: 10, tls: tls,
                             endpoints: ["op": HTTPEndpoint(url: "https://127.0.0.1:\(port)/echo")])
        }
        let trusted = HTTPTLSFiles(caFile: pki.caCertificatePath)

        // ca_file: verified, answered.
        let ok = try await Self.call(config(tlsPort, trusted)).get()
        #expect(ok.data["query"] == "a=1" && ok.metadata["status_code"] == 200)

        // The system bundle does not know the dev CA: refused before any request is sent.
        guard case .failure(let refused) = await Self.call(config(tlsPort, HTTPTLSFiles())) else {
            Issue.record("a tool signed by an unknown CA must be refused")
            return
        }
        #expect(refused.message.hasPrefix("HTTPDriver 'tool': Request to https://127.0.0.1:\(tlsPort)/echo failed: "))
        #expect(refused.message.count > "HTTPDriver 'tool': Request to https://127.0.0.1:\(tlsPort)/echo failed: ".count)

        // A tool requiring mTLS: refused without the pair, served with it.
        guard case .failure = await Self.call(config(mtlsPort, trusted)) else {
            Issue.record("the mTLS tool must refuse a client without a certificate")
            return
        }
        var withClient = trusted
        withClient.clientCertificate = pki.agentCertificatePath("capgate")
        withClient.clientPrivateKey = pki.agentKeyPath("capgate")
        let served = try await Self.call(config(mtlsPort, withClient)).get()
        #expect(served.data["method"] == "GET" && served.metadata["status_code"] == 200)
    }
}
