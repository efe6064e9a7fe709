import CapgatePKI
import Foundation

/// `capgate pki`: operator commands over a PKI directory (issue certificates per agent
/// workload, revoke them, write the CRL). OpenSSL APIs through CapgatePKI; never the CLI.
/// Exit codes: 0 done, 1 the operation failed (message on stderr), 2 usage error.
enum PKICommand {
    static let usage = """
        usage: capgate pki init   --dir DIR [--trust-domain TD]
               capgate pki issue  --dir DIR --agent NAME [--ttl DURATION]
               capgate pki server --dir DIR [--dns NAME]... [--ip ADDR]... [--ttl DURATION]
               capgate pki host   --dir DIR --name NAME [--dns NAME]... [--ip ADDR]... [--ttl DURATION]
               capgate pki revoke --dir DIR (--agent NAME | --serial HEX)
               capgate pki crl    --dir DIR
               capgate pki list   --dir DIR
        TD defaults to capgate.local. DURATION: a positive number with s, m, h or d
        (issue: 24h, server and host: 90d). server and host default to --dns localhost --ip 127.0.0.1
        --ip ::1. host issues a driver host's leaf spiffe://TD/driver-host/NAME (hosts/NAME.pem|.key).
        revoke also rewrites DIR/crl.pem; a running capgate picks it up (file watch or SIGHUP).
        """

    /// Options each subcommand accepts; repeatable ones may be given several times.
    private static let accepted: [String: (single: Set<String>, repeatable: Set<String>)] = [
        "init": (["--dir", "--trust-domain"], []),
        "issue": (["--dir", "--agent", "--ttl"], []),
        "server": (["--dir", "--ttl"], ["--dns", "--ip"]),
        "host": (["--dir", "--name", "--ttl"], ["--dns", "--ip"]),
        "revoke": (["--dir", "--agent", "--serial"], []),
        "crl": (["--dir"], []),
        "list": (["--dir"], []),
    ]

    static func run(_ argv: [String]) {
        guard let sub = argv.first else { fail(usage) }
        if ["help", "--help", "-h"].contains(sub) {
            print(usage)
            return
        }
        guard let allowed = accepted[sub] else { fail("unknown pki command \(sub)\n\(usage)") }
        let options = parseOptions(Array(argv.dropFirst()), allowed: allowed)
        func one(_ k: String) -> String? { options[k]?.first }
        guard let dir = one("--dir") else { fail("--dir is required\n\(usage)") }
        let pki = PKIDirectory(path: dir)
        do {
            switch sub {
            case "init":
                let td = one("--trust-domain") ?? "capgate.local"
                let ca = try pki.initCA(trustDomain: td)
                print("created CA for spiffe://\(td) serial \(ca.certificate.serialHex): \(pki.caCertificatePath) "
                      + "(key \(pki.caKeyPath), mode 0600)")
            case "issue":
                guard let name = one("--agent") else { fail("--agent is required\n\(usage)") }
                let ttl = try parseDuration(one("--ttl") ?? "24h")
                let issued = try pki.issueAgent(name: name, ttl: ttl)
                print("issued \(issued.certificate.uriSANs.first ?? name) serial \(issued.certificate.serialHex) "
                      + "expires \(iso(issued.certificate.notAfter)): \(pki.agentCertificatePath(name)) "
                      + "(key \(pki.agentKeyPath(name)), mode 0600)")
            case "server":
                let ttl = try parseDuration(one("--ttl") ?? "90d")
                let issued = try pki.issueServer(dnsNames: options["--dns"] ?? ["localhost"],
                                                 ipAddresses: options["--ip"] ?? ["127.0.0.1", "::1"], ttl: ttl)
                let names = issued.certificate.dnsSANs.map { "dns:\($0)" } + issued.certificate.ipSANs.map { "ip:\($0)" }
                print("issued server certificate \(names.joined(separator: ",")) serial "
                      + "\(issued.certificate.serialHex) expires \(iso(issued.certificate.notAfter)): "
                      + "\(pki.serverCertificatePath) (key \(pki.serverKeyPath), mode 0600)")
            case "host":
                guard let name = one("--name") else { fail("--name is required\n\(usage)") }
                let ttl = try parseDuration(one("--ttl") ?? "90d")
                let issued = try pki.issueHost(name: name, dnsNames: options["--dns"] ?? ["localhost"],
                                               ipAddresses: options["--ip"] ?? ["127.0.0.1", "::1"], ttl: ttl)
                print("issued \(issued.certificate.uriSANs.first ?? name) serial \(issued.certificate.serialHex) "
                      + "expires \(iso(issued.certificate.notAfter)): \(pki.hostCertificatePath(name)) "
                      + "(key \(pki.hostKeyPath(name)), mode 0600)")
            case "revoke":
                try revoke(pki, agent: one("--agent"), serial: one("--serial"))
            case "crl":
                let crl = try pki.writeCRL()
                print("wrote \(pki.crlPath): CRL number \(crl.crlNumber.map(String.init) ?? "-"), "
                      + "\(crl.revokedSerials.count) revoked, next update \(crl.nextUpdate.map(iso) ?? "-")")
            case "list":
                try list(pki)
            default:
                fail("unknown pki command \(sub)\n\(usage)")
            }
        } catch {
            fail("pki \(sub): \(error)", code: 1)
        }
    }

    /// `--name value` pairs; unknown options, a missing value or a repeated single option are
    /// usage errors (a typo such as `--dsn` must not silently issue the default names).
    static func parseOptions(_ argv: [String], allowed: (single: Set<String>, repeatable: Set<String>))
        -> [String: [String]]
    {
        var options: [String: [String]] = [:]
        var rest = argv[...]
        while let name = rest.popFirst() {
            guard allowed.single.contains(name) || allowed.repeatable.contains(name) else {
                fail("unknown option \(name)\n\(usage)")
            }
            guard let value = rest.popFirst() else { fail("\(name) needs a value\n\(usage)") }
            if allowed.single.contains(name), options[name] != nil { fail("\(name) given twice\n\(usage)") }
            options[name, default: []].append(value)
        }
        return options
    }

    private static func revoke(_ pki: PKIDirectory, agent: String?, serial: String?) throws {
        switch (agent, serial) {
        case (let name?, nil):
            let serials = try pki.revoke(agent: name)
            print(serials.isEmpty
                  ? "agent \(name): every certificate was already revoked; \(pki.crlPath) rewritten"
                  : "revoked agent \(name): serial \(serials.joined(separator: ", ")); \(pki.crlPath) rewritten")
        case (nil, let hex?):
            let newly = try pki.revoke(serial: hex)
            print(newly ? "revoked serial \(hex); \(pki.crlPath) rewritten"
                        : "serial \(hex) was already revoked; \(pki.crlPath) rewritten")
        default:
            fail("give exactly one of --agent NAME or --serial HEX\n\(usage)")
        }
    }

    /// One line per issued certificate: kind, name, identity, serial, notAfter, status.
    private static func list(_ pki: PKIDirectory) throws {
        guard FileManager.default.fileExists(atPath: pki.caCertificatePath) else {
            throw PKIError.notFound(path: pki.caCertificatePath)
        }
        let now = Int64(Date().timeIntervalSince1970)
        print(["KIND", "NAME", "IDENTITY", "SERIAL", "NOT_AFTER", "STATUS"].joined(separator: "\t"))
        for e in try pki.list() {
            let status = e.revokedAt.map { "revoked \(iso($0))" } ?? (e.notAfter <= now ? "expired" : "valid")
            print([e.kind.rawValue, e.name, e.identity, e.serialHex, iso(e.notAfter), status].joined(separator: "\t"))
        }
    }

    private static func iso(_ unix: Int64) -> String {
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date(timeIntervalSince1970: TimeInterval(unix)))
    }

    /// "90s", "30m", "24h", "7d"; at most 10 years (the CA's default lifetime).
    static func parseDuration(_ s: String) throws -> Duration {
        guard let unit = s.last, let n = Int64(s.dropLast()), n > 0 else {
            throw PKIError.invalidInput(field: "--ttl", reason: "bad duration \(s) (e.g. 24h, 30m, 7d)")
        }
        let scale: Int64
        switch unit {
        case "s": scale = 1
        case "m": scale = 60
        case "h": scale = 3600
        case "d": scale = 86_400
        default: throw PKIError.invalidInput(field: "--ttl", reason: "bad duration unit in \(s) (s, m, h or d)")
        }
        guard n <= 3650 * 86_400 / scale else {
            throw PKIError.invalidInput(field: "--ttl", reason: "\(s) is longer than 10 years")
        }
        return .seconds(n * scale)
    }
}
