import Foundation
import Testing

/// `capgate --help` and every subcommand's `--help` (swift-argument-parser): each lists
/// exactly the flags the command accepts, each with an explanation, on stdout with exit 0.
@Suite struct CLIHelpTests {
    /// Every command path and the options it takes (the CLI surface; README.md and the
    /// Makefile call these).
    static let commands: [([String], [String])] = [
        (["serve"], ["--config", "--listen", "--state-dir", "--metrics-listen", "--allow-missing-alpn"]),
        (["check-config"], []),
        (["pki", "init"], ["--dir", "--trust-domain"]),
        (["pki", "issue"], ["--dir", "--agent", "--ttl"]),
        (["pki", "server"], ["--dir", "--dns", "--ip", "--ttl", "--crl-url"]),
        (["pki", "host"], ["--dir", "--name", "--dns", "--ip", "--ttl"]),
        (["pki", "revoke"], ["--dir", "--agent", "--serial"]),
        (["pki", "crl"], ["--dir"]),
        (["pki", "list"], ["--dir"]),
        (["audit", "verify"], ["--store", "--json", "--secret-file", "--config"]),
        (["audit", "list"], ["--store", "--json", "--principal", "--capability", "--status", "--since", "--until", "--limit",
                             "--config"]),
        (["audit", "show"], ["--store", "--json", "--config"]),
        (["audit", "export"], ["--store", "--json", "--principal", "--capability", "--status", "--since", "--until",
                               "--limit", "--out", "--config"]),
        (["store", "migrate"], ["--config"]),
    ]

    /// The `--flag` entries of the OPTIONS section, each with the text that explains it.
    static func options(in help: String) -> [String: String] {
        guard let section = help.range(of: "OPTIONS:\n") else { return [:] }
        var found: [String: String] = [:]
        var current: String?
        for line in help[section.upperBound...].split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty || !line.hasPrefix(" ") { break }
            let trimmed = line.drop { $0 == " " }
            if trimmed.hasPrefix("-") {
                // "-h, --help   Show help information." / "--dir <dir>   The PKI directory ..."
                let words = trimmed.split(separator: " ")
                let flag = words.map(String.init).first { $0.hasPrefix("--") }?.trimmingCharacters(in: [","]) ?? ""
                let text = trimmed.components(separatedBy: "  ").dropFirst().joined(separator: " ")
                    .trimmingCharacters(in: .whitespaces)
                current = flag
                found[flag] = text
            } else if let flag = current {
                found[flag, default: ""] += " " + trimmed
            }
        }
        return found
    }

    @Test func rootHelpListsEveryCommand() async throws {
        let r = try await capgate(["--help"])
        #expect(r.status == 0, "\(r.stderr)")
        for command in ["serve", "check-config", "pki", "audit", "store"] {
            #expect(r.stdout.contains("\n  \(command) "), "capgate --help lacks \(command)")
        }
        let pki = try await capgate(["pki", "--help"])
        #expect(pki.status == 0, "\(pki.stderr)")
        for command in ["init", "issue", "server", "host", "revoke", "crl", "list"] {
            #expect(pki.stdout.contains("\n  \(command) "), "capgate pki --help lacks \(command)")
        }
        // The old usage block stays in the group's help (`capgate pki help` prints the same).
        #expect(pki.stdout.contains("capgate pki revoke --dir DIR"))
        #expect(try await capgate(["pki", "help"]).stdout == pki.stdout)
    }

    @Test(arguments: commands)
    func subcommandHelpExplainsEachFlag(path: [String], flags: [String]) async throws {
        let r = try await capgate(path + ["--help"])
        #expect(r.status == 0, "\(path): \(r.stderr)")
        #expect(r.stdout.contains("USAGE: capgate \(path.joined(separator: " "))"), "\(r.stdout)")
        let listed = Self.options(in: r.stdout)
        #expect(Set(listed.keys) == Set(flags + ["--help"]), "\(path): \(listed.keys.sorted())")
        for flag in flags {
            #expect((listed[flag] ?? "").count >= 10, "\(path) \(flag) has no explanation: \(listed[flag] ?? "-")")
        }
    }

    @Test func checkConfigHelpExplainsItsArgument() async throws {
        let r = try await capgate(["check-config", "--help"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("<file>") && r.stdout.contains("The server configuration (TOML) to validate."))
    }

    /// A bare group or an unknown command is a usage error, as before: exit 2, usage on stderr.
    @Test func bareCommandsAreUsageErrors() async throws {
        let bare = try await capgate([])
        #expect(bare.status == 2 && bare.stderr.hasPrefix("capgate: ") && bare.stdout.isEmpty)
        let pki = try await capgate(["pki"])
        #expect(pki.status == 2 && pki.stderr.contains("capgate pki revoke --dir DIR"))
        let unknown = try await capgate(["frobnicate"])
        #expect(unknown.status == 2 && unknown.stderr.hasPrefix("capgate: unknown command frobnicate\n"))
        let unknownPKI = try await capgate(["pki", "frobnicate", "--dir", "p"])
        #expect(unknownPKI.status == 2 && unknownPKI.stderr.hasPrefix("capgate: unknown pki command frobnicate\n"))
    }
}
