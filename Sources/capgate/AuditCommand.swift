import AgentKernel
import ArgumentParser
import CapgateServer
import CapgatePostgres
import CapgateStore
import Foundation

/// `capgate audit verify|list|show|export`: read an audit database (ours or the reference's
/// `SQLiteTraceStore`) with the reference CLI's filters and output shapes (docs/audit.md).
/// Read-only, so it is safe next to a running server. The secret is read from a file, never
/// taken on the command line (where `ps` would show it).
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify, list, show or export the durable audit trail (docs/audit.md).",
        subcommands: [Verify.self, List.self, Show.self, Export.self])

    func run() throws { throw ValidationError("an audit command is required: verify, list, show or export") }

    struct Store: ParsableArguments {
        @Option(help: ArgumentHelp("The audit database.", valueName: "file"))
        var store = "./.capgate/audit.db"

        @Flag(help: "Emit machine-readable JSON.")
        var json = false

        func open() -> AuditFileReader {
            do { return try AuditFileReader(path: store) } catch { fail(error.message, code: 1) }
        }
    }

    struct Filters: ParsableArguments {
        @Option(help: ArgumentHelp("Filter by principal id.", valueName: "id")) var principal: String?
        @Option(help: ArgumentHelp("Filter by capability id.", valueName: "id")) var capability: String?
        @Option(help: ArgumentHelp("Filter by outcome: succeeded or failed.", valueName: "status")) var status: String?
        @Option(help: ArgumentHelp("Only traces at/after this ISO-8601 timestamp.", valueName: "time")) var since: String?
        @Option(help: ArgumentHelp("Only traces strictly before this ISO-8601 timestamp.", valueName: "time"))
        var until: String?
        @Option(help: ArgumentHelp("Cap the number of traces returned.", valueName: "n")) var limit: Int?

        func validate() throws {
            if let s = status, s != "succeeded" && s != "failed" {
                throw ValidationError("--status must be succeeded or failed")
            }
            for (flag, v) in [("--since", since), ("--until", until)] {
                if let v, Timestamp(isoformat: v) == nil { throw ValidationError("\(flag): not an ISO-8601 timestamp") }
            }
            if let l = limit, l < 0 { throw ValidationError("--limit must be >= 0") }
        }

        /// The reference CLI's filter: chain order (not sorted), then the first `limit`.
        func apply(_ traces: [ActionTrace]) -> [ActionTrace] { apply(traces, trace: { $0 }) }

        /// The same filter over items carrying a trace (a fleet's records), in their order.
        func apply<T>(_ items: [T], trace: (T) -> ActionTrace) -> [T] {
            let since = self.since.flatMap { Timestamp(isoformat: $0) }
            let until = self.until.flatMap { Timestamp(isoformat: $0) }
            let matched = items.filter { item in
                let t = trace(item)
                if let p = principal, !PyString.equal(t.principalID, p) { return false }
                if let c = capability, !PyString.equal(t.capabilityID, c) { return false }
                if let s = status, (t.error == nil ? "succeeded" : "failed") != s { return false }
                if let s = since, t.invokedAt < s { return false }
                if let u = until, t.invokedAt >= u { return false }
                return true
            }
            return limit.map { Array(matched.prefix($0)) } ?? matched
        }
    }

    static func traces(_ reader: AuditFileReader) -> [ActionTrace] {
        do { return try reader.traces() } catch { fail(error.message, code: 1) }
    }

    /// `--config`: read a fleet's trail in PostgreSQL (every sidecar's chain) instead of `--store`.
    struct Fleet: ParsableArguments {
        @Option(help: ArgumentHelp("A fleet's configuration (`[store] backend = \"postgres\"`): read every sidecar's "
                                   + "chain in PostgreSQL instead of --store.", valueName: "file"))
        var config: String?

        /// Every record of every chain, oldest first (nil without `--config`).
        func records() -> [PostgresTraceStore.FleetRecord]? {
            guard let config else { return nil }
            do {
                guard let settings = try ServerConfig.load(path: config).store.postgresSettings() else {
                    fail("\(config): [store] backend is not \"postgres\"; use --store", code: 1)
                }
                return try PostgresTraceStore.fleetRecords(try PostgresConnection(settings))
            } catch {
                fail("\(error)", code: 1)
            }
        }
    }

    /// A fleet record as `list --json` and `show` print it: which chain, where in it, the trace.
    static func fleetJSON(_ r: PostgresTraceStore.FleetRecord) -> JSONValue {
        .object(JSONObject([("chain", .string(r.chain)), ("seq", .int(r.seq)), ("trace", r.trace.exportJSON)]))
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify the hash chain; exit 1 naming the first bad record when it does not verify.")
        @OptionGroup var store: Store
        @Option(help: ArgumentHelp("The kernel secret file (default: `secret` next to the store).", valueName: "file"))
        var secretFile: String?
        @Option(help: ArgumentHelp("A fleet's configuration (`[store] backend = \"postgres\"`): verify every sidecar's "
                                   + "chain in PostgreSQL instead of --store (secret: the config's, unless --secret-file).",
                                   valueName: "file"))
        var config: String?

        func run() throws {
            if let config {
                let (result, _) = verifyFleet(config)
                report(result)
                return
            }
            let path = secretFile ?? (URL(fileURLWithPath: store.store).deletingLastPathComponent().path + "/secret")
            let secret: String
            // The first line of the file, exactly as `capgate serve` reads it.
            do { secret = try SecretFile.load(path: path) } catch { fail("\(error)", code: 1) }
            let result: AuditChainVerification
            do { result = try store.open().verify(secret: secret) } catch { fail(error.message, code: 1) }
            report(result)
        }

        func verifyFleet(_ path: String) -> (AuditChainVerification, Int) {
            do {
                let config = try ServerConfig.load(path: path)
                guard let settings = try config.store.postgresSettings() else {
                    fail("\(path): [store] backend is not \"postgres\"; use --store", code: 1)
                }
                let secret = try SecretFile.load(path: secretFile ?? config.secretFile)
                return try PostgresTraceStore.verifyAll(try PostgresConnection(settings), secret: secret)
            } catch {
                fail("\(error)", code: 1)
            }
        }

        func report(_ result: AuditChainVerification) {
            if store.json {
                print(JSONValue.object(JSONObject([
                    ("ok", .bool(result.ok)), ("records_checked", .int(result.recordsChecked)),
                    ("first_bad_seq", result.firstBadSeq.map(JSONValue.int) ?? .null), ("detail", .string(result.detail)),
                ])).serialized(.pythonDefault))
            } else {
                print((result.ok ? "OK: " : "TAMPER DETECTED: ") + result.detail)
            }
            if !result.ok { Foundation.exit(1) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List traces as a table (or JSON), in chain order.")
        @OptionGroup var store: Store
        @OptionGroup var filters: Filters
        @OptionGroup var fleet: Fleet

        func run() throws {
            if let records = fleet.records() { return runFleet(filters.apply(records, trace: \.trace)) }
            let traces = filters.apply(AuditCommand.traces(store.open()))
            if store.json {
                print(JSONValue.array(traces.map(\.exportJSON)).serialized(.pythonDefault))
                return
            }
            if traces.isEmpty { print("No traces matched."); return }
            func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
            let header = "\(pad("ACTION_ID", 38)) \(pad("CAPABILITY", 28)) \(pad("PRINCIPAL", 18)) \(pad("STATUS", 9)) INVOKED_AT"
            print(header)
            print(String(repeating: "-", count: header.count))
            for t in traces {
                print("\(pad(t.actionID, 38)) \(pad(t.capabilityID, 28)) \(pad(t.principalID, 18)) "
                      + "\(pad(t.error == nil ? "succeeded" : "failed", 9)) \(t.invokedAt.isoformat)")
            }
        }

        /// A fleet's records, oldest first across chains, each with its chain and seq.
        func runFleet(_ records: [PostgresTraceStore.FleetRecord]) {
            if store.json {
                print(JSONValue.array(records.map(AuditCommand.fleetJSON)).serialized(.pythonDefault))
                return
            }
            if records.isEmpty { print("No traces matched."); return }
            func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
            let header = "\(pad("ACTION_ID", 38)) \(pad("CAPABILITY", 28)) \(pad("PRINCIPAL", 18)) \(pad("STATUS", 9)) "
                + "\(pad("INVOKED_AT", 32)) \(pad("CHAIN", 36)) SEQ"
            print(header)
            print(String(repeating: "-", count: header.count))
            for r in records {
                let t = r.trace
                print("\(pad(t.actionID, 38)) \(pad(t.capabilityID, 28)) \(pad(t.principalID, 18)) "
                      + "\(pad(t.error == nil ? "succeeded" : "failed", 9)) \(pad(t.invokedAt.isoformat, 32)) "
                      + "\(pad(r.chain, 36)) \(r.seq)")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one trace in full (its export shape, JSON).")
        @OptionGroup var store: Store
        @Argument(help: ArgumentHelp("The action id to display.", valueName: "action_id")) var actionID: String
        @OptionGroup var fleet: Fleet

        func run() throws {
            if let records = fleet.records() {
                guard let r = records.first(where: { PyString.equal($0.trace.actionID, actionID) }) else {
                    fail("No action trace found for action_id=\(PyString.repr(actionID)).", code: 1)
                }
                print(AuditCommand.fleetJSON(r).serialized(.pythonDefault))
                return
            }
            guard let t = AuditCommand.traces(store.open()).first(where: { PyString.equal($0.actionID, actionID) }) else {
                fail("No action trace found for action_id=\(PyString.repr(actionID)).", code: 1)
            }
            print(t.exportJSON.serialized(.pythonDefault))
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Export filtered traces as JSONL (one export shape a line).")
        @OptionGroup var store: Store
        @OptionGroup var filters: Filters
        @Option(help: ArgumentHelp("Write to this file instead of stdout.", valueName: "file")) var out: String?
        @OptionGroup var fleet: Fleet

        func run() throws {
            // A fleet's records: the same lines, oldest first across chains (docs/audit.md).
            let traces = fleet.records().map { filters.apply($0, trace: \.trace).map(\.trace) }
                ?? filters.apply(AuditCommand.traces(store.open()))
            let payload = traces.map { $0.exportJSON.serialized(.pythonDefault) }.joined(separator: "\n")
            if let out {
                do {
                    try (payload + (payload.isEmpty ? "" : "\n")).write(toFile: out, atomically: true, encoding: .utf8)
                } catch { fail("cannot write \(out): \(error)", code: 1) }
                print("Wrote \(traces.count) trace(s) to \(out)")
            } else {
                print(payload)
            }
        }
    }
}
