import AgentKernel
import ArgumentParser
import CapgateClient
import CapgateServer
import CapgateWire
import Foundation
import Synchronization

// The operations commands (docs/operations.md): `doctor` checks a configuration's files
// before start; `status`, `pause`, `resume` and `paused` call the admin verbs of a running
// sidecar over mTLS with an admin identity's certificate (the demo's `ops` by default).

/// How to reach a running sidecar as an admin. The defaults are the demo's (`capgate serve`
/// without --config) under --state-dir.
struct AdminConnection: ParsableArguments {
    @Option(help: ArgumentHelp("The sidecar's address.", valueName: "host:port"))
    var server = "127.0.0.1:8443"

    @Option(help: ArgumentHelp("Where the demo's PKI is (the defaults of --cert, --key and --ca).", valueName: "dir"))
    var stateDir = "./.capgate"

    @Option(help: ArgumentHelp("An admin identity's certificate (default: the demo's ops agent).", valueName: "file"))
    var cert: String?

    @Option(help: ArgumentHelp("Its private key.", valueName: "file"))
    var key: String?

    @Option(help: ArgumentHelp("The CA bundle that verifies the sidecar's certificate.", valueName: "file"))
    var ca: String?

    @Option(help: ArgumentHelp("The name the sidecar's certificate must carry.", valueName: "name"))
    var serverName = "localhost"

    @Flag(help: "Emit the sidecar's JSON answer.")
    var json = false

    /// Calls one admin verb; any failure ends the command with status 1 and the error.
    func call(_ request: WireRequest) -> JSONValue {
        let (host, port): (String, Int)
        do { (host, port) = try ServerConfig.parseListen(server, key: "--server") } catch { fail("\(error)") }
        let pki = stateDir + "/pki"
        let client: CapgateClient
        do {
            client = try CapgateClient(host: host, port: UInt16(port), certificate: cert ?? pki + "/agents/ops.pem",
                                       key: key ?? pki + "/agents/ops.key", trustBundle: ca ?? pki + "/ca.pem",
                                       serverName: serverName)
        } catch {
            fail("cannot connect to \(server): \(error)", code: 1)
        }
        defer { client.close() }
        let outcome = blocking { try await client.call(request) }
        switch outcome {
        case .success(let v): return v
        case .failure(let e): fail("\(request.verb.rawValue): \(e)", code: 1)
        }
    }

    /// Prints the answer: its JSON with --json, else `human`'s lines.
    func print(_ value: JSONValue, human: (JSONValue) -> [String]) {
        let text = json ? value.serialized(.pythonDefault) : human(value).joined(separator: "\n")
        FileHandle.standardOutput.write((text + "\n").data(using: .utf8)!)
    }
}

/// Runs `body` on the cooperative pool and waits for it on this (main) thread: the CLI is
/// synchronous and the client is async.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> Result<T, any Error> {
    let box = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        let r: Result<T, any Error>
        do { r = .success(try await body()) } catch { r = .failure(error) }
        box.withLock { $0 = r }
        done.signal()
    }
    done.wait()
    return box.withLock { $0! }
}

/// The human lines of a `Paused` answer.
func pausedLines(_ v: JSONValue) -> [String] {
    func line(_ what: String, _ e: JSONValue) -> String {
        let reason = e["reason"]?.stringValue ?? ""
        return "paused \(what) since \(e["paused_at"]?.stringValue ?? "?") by \(e["paused_by"]?.stringValue ?? "?")"
            + (reason.isEmpty ? "" : ": \(reason)")
    }
    var out: [String] = []
    if let all = v["all"], !all.isNull { out.append(line("everything (pause_all)", all)) }
    for (kind, key) in [("capability", "capabilities"), ("principal", "principals")] {
        for e in v[key]?.arrayValue ?? [] { out.append(line("\(kind) \(e["id"]?.stringValue ?? "?")", e)) }
    }
    return out.isEmpty ? ["nothing paused"] : out
}

/// What a kill switch names on the command line: `capability ID`, `principal ID` or `all`.
struct PauseTargetArguments: ParsableArguments {
    @Argument(help: ArgumentHelp("capability, principal or all.", valueName: "kind"))
    var kind: String

    @Argument(help: ArgumentHelp("The capability or principal id (none for all).", valueName: "id"))
    var id: String?

    func validate() throws {
        switch kind {
        case "capability", "principal":
            if id == nil { throw ValidationError("\(kind) needs an id") }
        case "all":
            if id != nil { throw ValidationError("all takes no id") }
        default: throw ValidationError("kind must be capability, principal or all")
        }
    }

    var target: PauseTarget {
        switch kind {
        case "capability": .capability(id ?? "")
        case "principal": .principal(id ?? "")
        default: .all
        }
    }
}

struct Pause: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pause a capability, a principal or everything on a running sidecar (admin; docs/operations.md).",
        discussion: "A paused capability's grants and invokes are refused; a paused principal's every request "
            + "and token, also tokens issued later; `all` refuses every verb but health and the admin verbs. "
            + "The pause is audited, persisted in the state directory and lasts until `capgate resume`.")
    @OptionGroup var target: PauseTargetArguments
    @Option(help: ArgumentHelp("Why (kept with the pause, shown by status; never sent to agents).", valueName: "text"))
    var reason = ""
    @OptionGroup var connection: AdminConnection

    func run() throws {
        connection.print(connection.call(.operations(.pause(target.target, reason: reason))), human: pausedLines)
    }
}

struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Lift a pause on a running sidecar (admin; docs/operations.md).")
    @OptionGroup var target: PauseTargetArguments
    @OptionGroup var connection: AdminConnection

    func run() throws {
        connection.print(connection.call(.operations(.resume(target.target))), human: pausedLines)
    }
}

struct Paused: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List what is paused on a running sidecar (admin).")
    @OptionGroup var connection: AdminConnection

    func run() throws { connection.print(connection.call(.operations(.listPaused)), human: pausedLines) }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a running sidecar's uptime, connections, configuration generation, certificate "
            + "expiries, paused items and audit store health (admin).")
    @OptionGroup var connection: AdminConnection

    func run() throws { connection.print(connection.call(.operations(.status)), human: Self.lines) }

    static func lines(_ v: JSONValue) -> [String] {
        func s(_ x: JSONValue?) -> String {
            guard let x, !x.isNull else { return "-" }
            return x.stringValue ?? x.serialized(.pythonDefault)
        }
        func left(_ e: JSONValue?) -> String {
            guard let secs = e?["seconds_left"]?.intValue else { return "" }
            return secs < 0 ? " (EXPIRED)" : " (in \(secs / 86_400)d \(secs % 86_400 / 3600)h)"
        }
        let c = v["connections"], g = v["config"], cert = v["certificates"], st = v["store"]
        var out = [
            "uptime: \(s(v["uptime_seconds"]))s (since \(s(v["started_at"])))",
            "connections: \(s(c?["active"])) open, \(s(c?["pre_auth"])) handshaking, \(s(c?["in_flight_requests"])) "
                + "requests in flight; \(s(c?["accepted_total"])) accepted, \(s(c?["rejected_total"])) rejected, "
                + "\(s(c?["requests_total"])) requests",
            "config: \(s(g?["path"])), TLS generation \(s(g?["tls_generation"])), identity generation "
                + "\(s(g?["identity_generation"])) (\(s(g?["identity_rules"])) rules), \(s(g?["capabilities"])) capabilities",
            "server certificate: expires \(s(cert?["server"]?["not_after"]))\(left(cert?["server"]))",
        ]
        for ca in cert?["trust_bundle"]?.arrayValue ?? [] {
            out.append("CA \(s(ca["subject"])): expires \(s(ca["not_after"]))\(left(ca))"
                       + (ca["error"].map { " error: \(s($0))" } ?? ""))
        }
        if cert?["crl"]?["checking"]?.boolValue == true {
            out.append("CRL: next update \(s(cert?["crl"]?["next_update"]))\(left(cert?["crl"]))")
        } else {
            out.append("CRL: revocation checking OFF")
        }
        for cl in cert?["clients"]?.arrayValue ?? [] {
            out.append("client \(s(cl["identity"])) (serial \(s(cl["serial"]))): expires \(s(cl["not_after"]))\(left(cl))")
        }
        out += pausedLines(v["paused"] ?? .null)
        let health = st?["healthy"]?.boolValue == true ? "healthy" : "FAILED: \(s(st?["error"]))"
        out.append("audit store: \(s(st?["kind"])) \(s(st?["path"])): \(health), backlog \(s(st?["backlog"]))")
        return out
    }
}

/// `capgate doctor FILE`: the configuration loaded as `check-config` loads it, then every
/// check of `Doctor` (CapgateServer/Doctor.swift), one line each; exit 1 on any fail.
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a configuration and its files before start: certificates and chain, key permissions, "
            + "secret, CRL freshness, listen port, state directory and audit store.",
        discussion: "One line per check: ok, warn or fail. Exit status 1 when any check fails, else 0.")

    @Argument(help: ArgumentHelp("The server configuration (TOML).", valueName: "file"))
    var file: String

    @Flag(help: "Emit machine-readable JSON.")
    var json = false

    @Flag(help: "Do not try to bind the listen address (a sidecar already runs there).")
    var skipPort = false

    func run() throws {
        var checks: [CapgateServer.Doctor.Check]
        do {
            let config = try ServerConfig.load(path: file)
            checks = [.init("config", .ok, CheckConfig.summary(config))]
            checks += CapgateServer.Doctor.run(config, checkPort: !skipPort)
        } catch {
            checks = [.init("config", .fail, "\(file): \(error)")]
        }
        if json {
            let v: JSONValue = .array(checks.map { ["check": .string($0.name), "status": .string($0.level.rawValue),
                                                    "detail": .string($0.detail)] })
            Swift.print(v.serialized(.pythonDefault))
        } else {
            let width = checks.map(\.name.count).max() ?? 0
            for c in checks {
                Swift.print(c.level.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0) + " "
                            + c.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + c.detail)
            }
        }
        // exit(3) flushes what print buffered.
        if checks.contains(where: { $0.level == .fail }) { Foundation.exit(1) }
    }
}
