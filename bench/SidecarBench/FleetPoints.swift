import CapgateTesting
import CapgateTLS
import Foundation

/// The fleet point (docs/deployment.md, docs/benchmarks.md "Fleet"): the same grant and
/// invoke load against two `capgate serve` sharing one PostgreSQL database and against one
/// `capgate serve` on the embedded SQLite store, measured alternately in one run so the
/// ratio between them is fair on a busy machine.
///
/// - PostgreSQL is a throwaway cluster (CapgateTesting's `PostgresCluster`, as the fleet
///   tests start it) with fsync on: a commit reaches the disk, as SQLite's default
///   `durability = "fsync"` audit commit does. Both stores live on the same disk.
/// - The three sidecars load the bench configuration (`Workspace.writeSidecarConfig`) and
///   share its PKI and secret; the two fleet sidecars add `[store] backend = "postgres"`.
/// - Each point opens the same number of connections to each setup; for the fleet they
///   alternate between the two sidecars, so half the load goes to each and an invoke on B
///   uses a token granted through A (one domain).
/// - Server CPU sums the process trees of the sidecars and, for the fleet, of PostgreSQL.
enum FleetBench {
    static let sqliteTarget = "fleet-sqlite-1"
    static let postgresTarget = "fleet-postgres-2"
    static let verbs: [BenchVerb] = [.grantCapability, .invokeSummary]
    /// Connections (split evenly over the fleet's sidecars) x streams per connection.
    static let modes = [(2, 1), (16, 16)]

    /// The fleet verbs this run measures (`--verbs` may leave none: then no fleet point).
    static func verbs(of runVerbs: [BenchVerb]) -> [BenchVerb] { verbs.filter(runVerbs.contains) }

    static func pointCount(_ runVerbs: [BenchVerb]) -> Int { verbs(of: runVerbs).count * modes.count * 2 }

    /// The postmaster's pid, first line of `postmaster.pid` (the cluster is started through
    /// `setpriv`, which execs it).
    static func postmasterPID(_ cluster: PostgresCluster) -> Int32? {
        let text = try? String(contentsOfFile: cluster.directory + "/data/postmaster.pid", encoding: .utf8)
        return text?.split(separator: "\n").first.flatMap { Int32($0) }
    }
}

extension BenchRunner {
    /// `--only fleet` (make bench-fleet): the fleet point alone, its own report directory, and
    /// only its section replaced in --publish-docs.
    func executeFleetOnly() async throws -> String {
        let ws = try Workspace.create()
        defer { ws.remove() }
        let started = Date()
        progress.setTotal(FleetBench.pointCount(verbs))
        await fleetPoints(workspace: ws, tls: try ws.clientTLS())
        run.machine.loadAverageAtEnd = Environment.loadAverage()
        run.notes.append(String(format: "wall time of the run: %.0f s", Date().timeIntervalSince(started)))
        return try ReportWriter(run: run, options: o).writeFleetOnly()
    }

    /// Starts the cluster and the three sidecars, measures every fleet verb and mode on both
    /// setups (alternating), stops them all. A setup failure is a note, not a crash.
    func fleetPoints(workspace ws: Workspace, tls: TLSContext) async {
        let verbs = FleetBench.verbs(of: self.verbs)
        guard !verbs.isEmpty else { return }
        do {
            Progress.say("fleet: starting PostgreSQL (fsync on) and 3 sidecars")
            let cluster = try await PostgresCluster.create(durable: true)
            defer { cluster.remove() }
            let database = try await cluster.createDatabase("bench")
            if let v = try? await runProcess(try PostgresCluster.binDirectory() + "/postgres", ["--version"]), v.status == 0 {
                run.versions["PostgreSQL"] = v.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let store = """

                [store]
                backend = "postgres"
                dsn = "\(cluster.dsn(database: database))"
                password_file = "\(cluster.passwordFile)"

                """
            // One at a time: the first to start creates the shared secret file.
            let (single, singlePort) = try await startSidecar(
                capgate: o.capgate, config: try ws.writeSidecarConfig(idleConnections: 0, name: "fleet-sqlite"),
                workspace: ws, log: "fleet-sqlite.log")
            defer { single.stop() }
            let (a, portA) = try await startSidecar(
                capgate: o.capgate, config: try ws.writeSidecarConfig(idleConnections: 0, extra: store, name: "fleet-pg-a"),
                workspace: ws, log: "fleet-pg-a.log")
            defer { a.stop() }
            let (b, portB) = try await startSidecar(
                capgate: o.capgate, config: try ws.writeSidecarConfig(idleConnections: 0, extra: store, name: "fleet-pg-b"),
                workspace: ws, log: "fleet-pg-b.log")
            defer { b.stop() }
            guard let postgres = FleetBench.postmasterPID(cluster) else { throw BenchError.setup("no postmaster.pid") }
            for verb in verbs {
                for (c, s) in FleetBench.modes {
                    await fleetPoint(FleetBench.sqliteTarget, verb, ports: [singlePort], pids: [single.pid], tls: tls, c, s)
                    await fleetPoint(FleetBench.postgresTarget, verb, ports: [portA, portB], pids: [a.pid, b.pid, postgres],
                                     tls: tls, c, s)
                }
            }
        } catch {
            run.notes.append("fleet point skipped: \(error)")
        }
    }

    /// One point: `c` connections spread over `ports`, `c * s` workers; warm-up, then the
    /// measured window with the CPU of `pids`' process trees read around it.
    func fleetPoint(_ target: String, _ verb: BenchVerb, ports: [UInt16], pids: [Int32], tls: TLSContext,
                    _ c: Int, _ s: Int) async {
        progress.point("\(target) \(c)x\(s): \(verb.rawValue)")
        var p = PointResult(target: target, verb: verb.rawValue, connections: c, streams: s, latency: nil,
                            meanLatencyNs: nil, throughput: 0, requests: 0, errors: 0, firstError: nil, seconds: 0,
                            cpuSeconds: nil, cpuSource: "/proc: the sidecars' and PostgreSQL's process trees",
                            peakRSSKiB: nil, note: nil)
        do {
            let pool = try await ClientPool(count: c, ports: ports, tls: tls)
            defer { pool.close() }
            let op = try await Scenario.clientOp(verb, pool.clients)
            if o.warmup > 0 {
                _ = await LoadRunner.run(concurrency: c * s, warmup: 0, seconds: o.warmup, progress: progress, op: op)
            }
            let cpu = { pids.reduce(0.0) { $0 + ProcStats.sample($1).cpuSeconds } }
            let before = cpu()
            record(&p, await LoadRunner.run(concurrency: c * s, warmup: 0, seconds: o.seconds, progress: progress, op: op))
            p.cpuSeconds = cpu() - before
        } catch {
            p.firstError = "setup: \(error)"
        }
        finish(p)
    }
}
