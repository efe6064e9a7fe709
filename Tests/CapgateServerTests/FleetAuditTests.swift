import AgentKernel
import CapgateClient
import CapgateServer
import CapgateTesting
import CapgateWire
import Foundation
import Testing

/// The fleet's audit trail through the operator's CLI: `capgate audit list|show|export
/// --config` read every sidecar's chain in PostgreSQL, and `[audit] max_bytes` prunes the
/// chains of two sidecars (both pruning) so that `capgate audit verify --config` still passes.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct FleetAuditTests {
    typealias Fleet = FleetTests.Fleet

    /// alice invokes `invokesA` times through A, then `invokesB` times through B.
    static func traffic(_ fleet: Fleet, _ portA: UInt16, _ portB: UInt16, invokesA: Int, invokesB: Int) async throws
        -> [String] {
        let aliceA = try fleet.client("alice", portA), aliceB = try fleet.client("alice", portB)
        defer { aliceA.close(); aliceB.close() }
        var ids: [String] = []
        for (c, n) in [(aliceA, invokesA), (aliceB, invokesB)] {
            // One grant per sidecar: grants are rate limited (60 a minute), invokes are not.
            let t = try await c.grantCapability(Demo.request("tasks.list"), justification: "").token
            for _ in 0..<n { ids.append(try frame(try await c.invoke(t)).actionID) }
        }
        return ids
    }

    @Test func listShowAndExportReadEverySidecarsChain() async throws {
        let (fleet, pair) = try await Fleet.startPair()
        defer { pair.kill(); fleet.remove() }
        let (portA, portB) = (pair.portA, pair.portB)
        let ids = try await Self.traffic(fleet, portA, portB, invokesA: 3, invokesB: 2)
        try await pair.stop()
        let capgate = try #require(Products.executable("capgate"))
        let config = fleet.dir + "/b.toml"

        // list --json: every record of both chains, oldest first, each with its chain and seq.
        let listed = try await runProcess(capgate, ["audit", "list", "--config", config, "--json"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let records = try #require(try JSONParser.parse(listed.stdout).arrayValue)
        #expect(records.compactMap { $0["trace"]?["action_id"]?.stringValue } == ids)
        let chains = records.compactMap { $0["chain"]?.stringValue }
        #expect(chains.count == 5 && Set(chains).count == 2 && chains[0] == chains[2] && chains[3] == chains[4]
                && chains[0] != chains[3], "\(chains)")
        #expect(records.compactMap { $0["seq"]?.intValue } == [1, 2, 3, 1, 2])

        // The table shows the chain and seq; filters apply across chains.
        let table = try await runProcess(capgate, ["audit", "list", "--config", config, "--limit", "4"])
        let lines = table.stdout.split(separator: "\n")
        #expect(table.status == 0 && lines.count == 6 && lines[0].hasSuffix("CHAIN" + String(repeating: " ", count: 32) + "SEQ"),
                "\(table.stdout) \(table.stderr)")
        #expect(lines[5].hasPrefix(ids[3]) && lines[5].hasSuffix("\(chains[3]) 1"), "\(lines[5])")
        let none = try await runProcess(capgate, ["audit", "list", "--config", config, "--principal", "nobody"])
        #expect(none.stdout == "No traces matched.\n")

        // show: one record of the other sidecar's chain, with where it sits.
        let shown = try await runProcess(capgate, ["audit", "show", ids[4], "--config", fleet.dir + "/a.toml"])
        let one = try JSONParser.parse(shown.stdout)
        #expect(shown.status == 0 && one["chain"]?.stringValue == chains[4] && one["seq"] == .int(2)
                && one["trace"]?["action_id"]?.stringValue == ids[4], "\(shown.stdout) \(shown.stderr)")
        let missing = try await runProcess(capgate, ["audit", "show", "nope", "--config", config])
        #expect(missing.status == 1 && missing.stderr.contains("No action trace found for action_id='nope'."))

        // export: the file export's lines (one export shape each, Python's spacing), same order.
        let out = fleet.dir + "/export.jsonl"
        let exported = try await runProcess(capgate, ["audit", "export", "--config", config, "--out", out])
        #expect(exported.status == 0 && exported.stdout == "Wrote 5 trace(s) to \(out)\n", "\(exported.stdout) \(exported.stderr)")
        let text = try String(contentsOfFile: out, encoding: .utf8)
        let expected = records.compactMap { $0["trace"]?.serialized(.pythonDefault) }.joined(separator: "\n") + "\n"
        #expect(text == expected)
        let stdout = try await runProcess(capgate, ["audit", "export", "--config", config, "--principal", "alice"])
        #expect(stdout.stdout == expected)

        // A config without `[store] backend = "postgres"` is refused, naming --store.
        let plain = fleet.dir + "/plain.toml"
        try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "backend = \"postgres\"", with: "")
            .replacingOccurrences(of: "dsn = ", with: "# dsn = ").replacingOccurrences(of: "password_file", with: "# pf")
            .replacingOccurrences(of: "pool_size", with: "# ps").write(toFile: plain, atomically: true, encoding: .utf8)
        let refused = try await runProcess(capgate, ["audit", "list", "--config", plain])
        #expect(refused.status == 1 && refused.stderr.contains("use --store"), "\(refused.stderr)")
    }

    /// `[audit] retain_days` through the configuration: a sidecar started after A's records
    /// aged out of its window prunes A's chain (a sidecar prunes every chain, at start), its
    /// own records stay, and the trail verifies.
    @Test func retainDaysPrunesAnotherSidecarsChainAtStart() async throws {
        let fleet = try await Fleet(cluster: try await PostgresCluster.shared())
        defer { fleet.remove() }
        let (a, portA) = try await fleet.serve("a")
        defer { kill(a.processIdentifier, SIGKILL) }
        let old = try await Self.traffic(fleet, portA, portA, invokesA: 3, invokesB: 0)
        try await FleetTests.stop(a)
        try await Task.sleep(for: .seconds(4))
        // 0.00004 days = 3.5 s: A's records are older; B's own, written right after its start
        // (its first prune), are younger.
        let (b, portB) = try await fleet.serve("b", extra: "[audit]\nretain_days = 0.00004\n")
        defer { kill(b.processIdentifier, SIGKILL) }
        let fresh = try await Self.traffic(fleet, portB, portB, invokesA: 2, invokesB: 0)
        try await FleetTests.stop(b)
        let capgate = try #require(Products.executable("capgate"))
        let listed = try await runProcess(capgate, ["audit", "list", "--config", fleet.dir + "/b.toml", "--json"])
        let left = try #require(try JSONParser.parse(listed.stdout).arrayValue).compactMap { $0["trace"]?["action_id"]?.stringValue }
        #expect(left == fresh && old.count == 3, "\(left)")
        let ok = try await runProcess(capgate, ["audit", "verify", "--config", fleet.dir + "/b.toml"])
        #expect(ok.status == 0 && ok.stdout == "OK: Verified 2 record(s) in 1 chain(s).\n", "\(ok.stdout) \(ok.stderr)")
    }

    /// `[audit] max_bytes` with two sidecars, both pruning every chain: the records' size
    /// stays bounded, the newest records stay, and every chain verifies.
    @Test func maxBytesPrunesTheFleetsChainsAndTheyStillVerify() async throws {
        let extra = "[audit]\nmax_bytes = 65536\n"
        let (fleet, pair) = try await Fleet.startPair(extra: extra)
        defer { pair.kill(); fleet.remove() }
        let (portA, portB) = (pair.portA, pair.portB)
        let ids = try await Self.traffic(fleet, portA, portB, invokesA: 70, invokesB: 70)
        // Both sidecars check the size every second.
        var count = ids.count
        for _ in 0..<100 {
            count = Int(try await fleet.cluster.psql("SELECT count(*) FROM capgate_traces", database: fleet.database)
                .trimmingCharacters(in: .whitespacesAndNewlines)) ?? count
            if count < ids.count { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        try await Task.sleep(for: .milliseconds(1200))
        try await pair.stop()
        let live = try await fleet.cluster.psql("SELECT sum(live_bytes), sum(records) FROM capgate_trace_chains",
                                                database: fleet.database).trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = live.split(separator: "|").compactMap { Int($0) }
        #expect(parts.count == 2 && parts[0] <= 65_536 && parts[1] < ids.count, "\(live)")

        let capgate = try #require(Products.executable("capgate"))
        let ok = try await runProcess(capgate, ["audit", "verify", "--config", fleet.dir + "/a.toml"])
        #expect(ok.status == 0 && ok.stdout.hasPrefix("OK: Verified \(parts.last ?? -1) record(s)"), "\(ok.stdout) \(ok.stderr)")
        // The newest invoke of B's run stayed; the first of A's went.
        let listed = try await runProcess(capgate, ["audit", "list", "--config", fleet.dir + "/a.toml", "--json"])
        let left = try #require(try JSONParser.parse(listed.stdout).arrayValue).compactMap { $0["trace"]?["action_id"]?.stringValue }
        #expect(left.contains(ids.last!) && !left.contains(ids[0]))
    }
}
