import AgentKernel
import CapgatePKI
import Foundation

/// The embedded default that `capgate serve` runs without `--config` (what `make run`
/// starts): three demo agents, the billing and task capabilities, the default policy and
/// the reference's default budgets. Pinned so it can be checked against the reference.
public enum DemoConfig {
    public static let trustDomain = "capgate.local"
    public static let agents: [(name: String, roles: [String])] = [
        ("alice", ["reader"]), ("bob", ["writer"]), ("ops", ["admin"]),
    ]

    /// The demo's capabilities, in registration order.
    public static let capabilities: [ServerConfig.CapabilityEntry] = [
        .init(capability: Capability(
            capabilityID: "billing.list_invoices", name: "List Invoices",
            description: "List all invoices, optionally filtered by status", safetyClass: .read, sensitivity: .pii,
            allowedFields: ["id", "customer_name", "amount", "currency", "status", "date"],
            tags: ["billing", "invoices", "list"]), drivers: ["billing"]),
        .init(capability: Capability(
            capabilityID: "billing.summarize_spend", name: "Summarize Spend",
            description: "Summarize total spend per currency and status", safetyClass: .read,
            tags: ["billing", "summary", "analytics"]), drivers: ["billing"]),
        .init(capability: Capability(capabilityID: "tasks.list", name: "List Tasks", description: "List tasks",
                                     safetyClass: .read, tags: ["tasks", "list"]), drivers: ["tasks"]),
        .init(capability: Capability(capabilityID: "tasks.create", name: "Create Task", description: "Create a task",
                                     safetyClass: .write, tags: ["tasks", "create"]), drivers: ["tasks"]),
    ]

    public static let taskRows: JSONValue = [
        ["id": 1, "title": "Buy milk", "done": false],
        ["id": 2, "title": "File taxes", "done": true],
    ]

    /// Creates what is missing under `stateDir` (PKI, secret) and returns the demo
    /// configuration. Later starts reuse the same files.
    public static func prepare(stateDir: String, host: String, port: Int) throws -> ServerConfig {
        let pkiPath = stateDir + "/pki"
        try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
        let pki = PKIDirectory(path: pkiPath)
        _ = try pki.ensureDevPKI(agents: agents.map(\.name), trustDomain: trustDomain,
                                 serverCRLURLs: [serverCRLURL(pkiPath: pkiPath)])
        let rules = agents.map { a in
            IdentityMap.Rule(match: .exact("spiffe://\(trustDomain)/agent/\(a.name)"), principalID: a.name,
                             roles: a.roles, attributes: ["tenant": "acme"])
        }
        var config = ServerConfig(
            tls: .init(certificate: pki.serverCertificatePath, privateKey: pki.serverKeyPath,
                       trustBundle: pki.caCertificatePath,
                       // ensureDevPKI writes crl.pem; optional anyway so a deleted one does
                       // not stop start-up, and one written later is picked up on reload.
                       crl: pki.crlPath, crlOptional: true),
            secretFile: stateDir + "/secret", identities: IdentityMap(rules: rules), capabilities: capabilities,
            drivers: [.billing(id: "billing"),
                      .staticData(id: "tasks", operations: ["tasks.list": taskRows, "tasks.create": ["created": true]])])
        config.stateDir = stateDir
        config.listenHost = host
        config.listenPort = port
        return config
    }

    /// The demo server certificate's CRL distribution point: the dev PKI's own `crl.pem` as a
    /// `file://` URI (absolute). WHY: a certificate with neither a CRL nor an OCSP URI cannot be
    /// checked for revocation (testssl.sh rates it HIGH); the demo has no web server to publish
    /// the CRL on, and this file is the CRL the demo keeps current (`ensureDevPKI` rewrites it
    /// when stale). A state directory that moves gets a new server certificate at next start.
    public static func serverCRLURL(pkiPath: String) -> String {
        let absolute = pkiPath.hasPrefix("/") ? pkiPath : FileManager.default.currentDirectoryPath + "/" + pkiPath
        return CRLDistributionURL.fileURL(absolutePath: URL(fileURLWithPath: absolute).standardizedFileURL.path
                                          + "/crl.pem")
    }

    /// The curl command that calls a verb as `alice`, for the start-up log.
    public static func curlExample(stateDir: String, host: String, port: Int) -> String {
        let pki = stateDir + "/pki"
        let h = host.contains(":") ? "[\(host)]" : host
        return "curl --http2 --cacert \(pki)/ca.pem --cert \(pki)/agents/alice.pem --key \(pki)/agents/alice.key "
            + "-H 'content-type: application/json' -d '{\"goal\": \"list invoices\"}' "
            + "https://\(h):\(port)/v1/request_capabilities"
    }
}
