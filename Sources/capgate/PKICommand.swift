import ArgumentParser
import CapgatePKI
import Foundation

/// `capgate pki`: operator commands over a PKI directory (issue certificates per agent
/// workload, revoke them, write the CRL). OpenSSL APIs through CapgatePKI; never the CLI.
/// Exit codes: 0 done, 1 the operation failed (message on stderr), 2 usage error.
struct PKICommand: ParsableCommand {
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

    static let configuration = CommandConfiguration(
        commandName: "pki",
        abstract: "Operate the dev/operator PKI: CA, agent and server certificates, revocation, CRL.",
        discussion: usage,
        subcommands: [Init.self, Issue.self, Server.self, Host.self, Revoke.self, CRL.self, List.self])

    /// `capgate pki` alone is a usage error (exit 2).
    func run() throws { throw ValidationError("a pki command is required\n\(Self.usage)") }

    /// `--dir DIR`, which every pki command takes.
    struct Directory: ParsableArguments {
        @Option(help: ArgumentHelp("The PKI directory (ca.pem and ca.key, agents/, server.pem, crl.pem, the index).",
                                   valueName: "dir"))
        var dir: String

        var pki: PKIDirectory { PKIDirectory(path: dir) }
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the CA (key mode 0600) in an empty PKI directory.")
        @OptionGroup var directory: Directory
        @Option(help: ArgumentHelp("The SPIFFE trust domain of every identity this CA issues.", valueName: "td"))
        var trustDomain = "capgate.local"

        func validate() throws { try refuseRepeated("--dir", "--trust-domain") }

        func run() throws {
            let pki = directory.pki
            perform("init") {
                let ca = try pki.initCA(trustDomain: trustDomain)
                print("created CA for spiffe://\(trustDomain) serial \(ca.certificate.serialHex): \(pki.caCertificatePath) "
                      + "(key \(pki.caKeyPath), mode 0600)")
            }
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a client certificate for an agent workload (spiffe://TD/agent/NAME).")
        @OptionGroup var directory: Directory
        @Option(help: ArgumentHelp("The agent's name; its identity is spiffe://TD/agent/NAME.", valueName: "name"))
        var agent: String
        @Option(help: ArgumentHelp("Lifetime: a positive number with s, m, h or d, at most 10 years.",
                                   valueName: "duration"))
        var ttl = "24h"

        func validate() throws { try refuseRepeated("--dir", "--agent", "--ttl") }

        func run() throws {
            let pki = directory.pki
            perform("issue") {
                let issued = try pki.issueAgent(name: agent, ttl: try parseDuration(ttl))
                print("issued \(issued.certificate.uriSANs.first ?? agent) serial \(issued.certificate.serialHex) "
                      + "expires \(iso(issued.certificate.notAfter)): \(pki.agentCertificatePath(agent)) "
                      + "(key \(pki.agentKeyPath(agent)), mode 0600)")
            }
        }
    }

    struct Server: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue the server certificate (DIR/server.pem) for the names clients connect to.")
        @OptionGroup var directory: Directory
        @OptionGroup var leaf: ServerLeafOptions
        @Option(name: .customLong("crl-url"),
                help: ArgumentHelp("Where the CA's CRL is published (an absolute URI, e.g. http://pki.example/ca.crl), "
                                   + "written to the certificate's CRL distribution points; repeat for several "
                                   + "(default: none).", valueName: "uri"))
        var crlURLs: [String] = []

        func validate() throws { try refuseRepeated("--dir", "--ttl") }

        func run() throws {
            let pki = directory.pki
            perform("server") {
                let issued = try pki.issueServer(dnsNames: leaf.dnsNames, ipAddresses: leaf.ipAddresses,
                                                 ttl: try parseDuration(leaf.ttl), crlURLs: crlURLs)
                let names = issued.certificate.dnsSANs.map { "dns:\($0)" } + issued.certificate.ipSANs.map { "ip:\($0)" }
                print("issued server certificate \(names.joined(separator: ",")) serial "
                      + "\(issued.certificate.serialHex) expires \(iso(issued.certificate.notAfter)): "
                      + "\(pki.serverCertificatePath) (key \(pki.serverKeyPath), mode 0600)")
            }
        }
    }

    struct Host: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a driver host's certificate (spiffe://TD/driver-host/NAME, hosts/NAME.pem and .key).",
            discussion: "The leaf serves the driver-host protocol and authenticates capgate's calls to it "
                + "(serverAuth and clientAuth).")
        @OptionGroup var directory: Directory
        @Option(help: ArgumentHelp("The driver host's name; its identity is spiffe://TD/driver-host/NAME.",
                                   valueName: "name"))
        var name: String
        @OptionGroup var leaf: ServerLeafOptions

        func validate() throws { try refuseRepeated("--dir", "--name", "--ttl") }

        func run() throws {
            let pki = directory.pki
            perform("host") {
                let issued = try pki.issueHost(name: name, dnsNames: leaf.dnsNames, ipAddresses: leaf.ipAddresses,
                                               ttl: try parseDuration(leaf.ttl))
                print("issued \(issued.certificate.uriSANs.first ?? name) serial \(issued.certificate.serialHex) "
                      + "expires \(iso(issued.certificate.notAfter)): \(pki.hostCertificatePath(name)) "
                      + "(key \(pki.hostKeyPath(name)), mode 0600)")
            }
        }
    }

    /// The names and lifetime of a leaf that serves TLS (`server`, `host`): one declaration, so
    /// the two commands cannot drift apart.
    struct ServerLeafOptions: ParsableArguments {
        @Option(help: ArgumentHelp("A DNS name for the certificate; repeat for several (default: localhost).",
                                   valueName: "name"))
        var dns: [String] = []
        @Option(help: ArgumentHelp("An IP address for the certificate; repeat for several "
                                   + "(default: 127.0.0.1 and ::1).", valueName: "addr"))
        var ip: [String] = []
        @Option(help: ArgumentHelp("Lifetime: a positive number with s, m, h or d, at most 10 years.",
                                   valueName: "duration"))
        var ttl = "90d"

        var dnsNames: [String] { dns.isEmpty ? ["localhost"] : dns }
        var ipAddresses: [String] { ip.isEmpty ? ["127.0.0.1", "::1"] : ip }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an agent's certificates or one serial, and rewrite DIR/crl.pem.",
            discussion: "A running capgate picks the new CRL up (file watch or SIGHUP).")
        @OptionGroup var directory: Directory
        @Option(help: ArgumentHelp("Revoke every certificate issued to this agent.", valueName: "name"))
        var agent: String?
        @Option(help: ArgumentHelp("Revoke the certificate with this serial (hex, as `pki list` prints it).",
                                   valueName: "hex"))
        var serial: String?

        func validate() throws {
            try refuseRepeated("--dir", "--agent", "--serial")
            guard (agent == nil) != (serial == nil) else {
                throw ValidationError("give exactly one of --agent NAME or --serial HEX")
            }
        }

        func run() throws {
            let pki = directory.pki
            perform("revoke") {
                if let name = agent {
                    let serials = try pki.revoke(agent: name)
                    print(serials.isEmpty
                          ? "agent \(name): every certificate was already revoked; \(pki.crlPath) rewritten"
                          : "revoked agent \(name): serial \(serials.joined(separator: ", ")); \(pki.crlPath) rewritten")
                } else if let hex = serial {
                    let newly = try pki.revoke(serial: hex)
                    print(newly ? "revoked serial \(hex); \(pki.crlPath) rewritten"
                                : "serial \(hex) was already revoked; \(pki.crlPath) rewritten")
                }
            }
        }
    }

    struct CRL: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "crl", abstract: "Rewrite DIR/crl.pem from the index (a fresh CRL number and next update).")
        @OptionGroup var directory: Directory

        func validate() throws { try refuseRepeated("--dir") }

        func run() throws {
            let pki = directory.pki
            perform("crl") {
                let crl = try pki.writeCRL()
                print("wrote \(pki.crlPath): CRL number \(crl.crlNumber.map(String.init) ?? "-"), "
                      + "\(crl.revokedSerials.count) revoked, next update \(crl.nextUpdate.map(iso) ?? "-")")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One tab-separated line per issued certificate: kind, name, identity, serial, not-after, status.")
        @OptionGroup var directory: Directory

        func validate() throws { try refuseRepeated("--dir") }

        func run() throws {
            let pki = directory.pki
            perform("list") {
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
        }
    }
}

/// Runs one pki operation: a failure is exit 1 with `capgate: pki <command>: <error>`.
private func perform(_ command: String, _ body: () throws -> Void) {
    do { try body() } catch { fail("pki \(command): \(error)", code: 1) }
}

/// argument-parser keeps the last of a repeated single-value option; these commands refuse
/// it instead (a pasted-twice `--dir` must not silently act on the other directory).
/// Counted on the process's own argv, where both `--dir X` and `--dir=X` appear.
private func refuseRepeated(_ names: String...) throws {
    let argv = CommandLine.arguments.dropFirst()
    for name in names where argv.filter({ $0 == name || $0.hasPrefix(name + "=") }).count > 1 {
        throw ValidationError("\(name) given twice")
    }
}

private func iso(_ unix: Int64) -> String {
    let f = ISO8601DateFormatter()
    f.timeZone = TimeZone(identifier: "UTC")
    return f.string(from: Date(timeIntervalSince1970: TimeInterval(unix)))
}

/// "90s", "30m", "24h", "7d"; at most 10 years (the CA's default lifetime).
func parseDuration(_ s: String) throws -> Duration {
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
