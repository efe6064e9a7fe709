import ArgumentParser
import Foundation

/// What a run measures. Every knob has a default that `make bench` uses; `--quick`
/// (make bench-quick) shrinks durations and counts so the whole run takes well under a minute.
struct BenchOptions: Sendable {
    /// Measured seconds per point (after `warmup`).
    var seconds = 5.0
    var warmup = 1.0
    /// Full mTLS handshakes: seconds per server.
    var handshakeSeconds = 3.0
    /// Idle connections opened for the memory-per-connection measurement.
    var idleConnections = 500
    /// The `capgate` executable (run as `capgate serve --config`).
    var capgate = ""
    var python = ".venv/bin/python"
    var reference = true
    /// The Python client (capgate.RemoteKernel) against the sidecar: bench/python_client_bench.py.
    var pythonClient = true
    var nginx = true
    /// The HTTP-driver point (nginx as the local tool; docs/drivers.md).
    var httpDriver = true
    var h2load = true
    /// perf record the sidecar during the saturation invoke point (if perf works here).
    var profile = true
    /// Where the report directory is created (`<out>/<date>-<short commit>/`).
    var outDirectory = "bench/reports"
    /// Also rewrite docs/benchmarks.md from this run.
    var publishDocs: String? = nil
    var quick = false
    /// Only these verbs (names as in the report); empty = all.
    var verbs: [String] = []
    /// Only issue 16's explain points against nginx (transport and one call at a time).
    var transportOnly = false
    /// Only issue 16's full mTLS handshake point, capgate then nginx (A/B runs of goal 6).
    var handshakesOnly = false
    /// With `handshakesOnly`: seconds of each verb (and health) at every concurrency put through
    /// the sidecar between a first handshake point on the fresh process and a second one, so
    /// the cost a long-running sidecar pays per handshake shows without the full run. 0 = off.
    var handshakesAfterLoad = 0.0
    /// With `handshakesOnly`: how many times capgate's last handshake point and nginx's are
    /// run, alternating, with both servers up. On a shared machine the load drifts between two
    /// points seconds apart; the median of same-round ratios follows the servers, not the drift.
    var handshakeRounds = 1
    /// The fleet point (FleetPoints.swift): 2 sidecars on PostgreSQL vs 1 on SQLite.
    var fleet = true
    /// Only these points (`fleet`); empty = the whole run.
    var only: [String] = []
}

/// The command line of `capgate-bench` (swift-argument-parser; `capgate-bench --help`).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capgate-bench",
        abstract: "Measure the sidecar against the kernel in process, the Python reference and nginx.",
        discussion: """
            Writes <out>/<date>-<short commit>/ (report.md, results.json, plots). Goals are \
            reported, never enforced: the exit status says only whether the harness worked. \
            See docs/benchmarks.md.
            """)

    @Flag(help: ArgumentHelp("Short run (make bench-quick): 1 s points unless --seconds is given, warmup <= 0.3 s, "
                             + "handshakes <= 1 s, <= 100 idle connections, no profile."))
    var quick = false
    @Option(help: ArgumentHelp("Measured seconds per point (default 5; 1 with --quick).", valueName: "s"))
    var seconds: Double?
    @Option(help: ArgumentHelp("Warm-up seconds before each point.", valueName: "s"))
    var warmup = BenchOptions().warmup
    @Option(help: ArgumentHelp("The capgate executable (default: the one next to capgate-bench).", valueName: "path"))
    var capgate: String?
    @Option(help: ArgumentHelp("The Python with the reference installed (make venv).", valueName: "path"))
    var python = BenchOptions().python
    @Flag(name: .customLong("no-reference"), help: "Skip the Python reference.")
    var noReference = false
    @Flag(name: .customLong("no-python-client"), help: "Skip the Python client (capgate.RemoteKernel) point.")
    var noPythonClient = false
    @Flag(name: .customLong("no-nginx"), help: "Skip the nginx static baseline.")
    var noNginx = false
    @Flag(name: .customLong("no-http-driver"), help: "Skip the HTTP-driver point (nginx as a local tool).")
    var noHTTPDriver = false
    @Flag(name: .customLong("no-h2load"), help: "Skip the h2load cross-check.")
    var noH2load = false
    @Flag(name: .customLong("no-profile"), help: "Skip the perf profile of the sidecar.")
    var noProfile = false
    @Flag(name: .customLong("transport-only"),
          help: "Only issue 16's explain points against nginx (h2load 1x1 and 4x16, the Swift client 1x1): A/B runs.")
    var transportOnly = false
    @Flag(name: .customLong("handshakes-only"),
          help: "Only the full mTLS handshake point, capgate then nginx (no profile): A/B runs of goal 6.")
    var handshakesOnly = false
    @Option(name: .customLong("handshakes-after-load"),
            help: ArgumentHelp("With --handshakes-only: capgate's handshakes on the fresh sidecar, then every verb and "
                               + "health at 1x1, 1x16 and 16x16 for s seconds each (the full run's order), then the "
                               + "handshakes again (a long-running sidecar's cost).", valueName: "s"))
    var handshakesAfterLoad: Double?
    @Option(name: .customLong("handshake-rounds"),
            help: ArgumentHelp("With --handshakes-only: alternate capgate's (last) handshake point and nginx's n times, "
                               + "both servers up, and print the median of the per-round rate ratios.", valueName: "n"))
    var handshakeRounds: Int?
    @Option(help: ArgumentHelp("Idle connections opened for the memory-per-connection point.", valueName: "n"))
    var idleConnections = BenchOptions().idleConnections
    @Option(help: ArgumentHelp("Seconds of full mTLS handshakes per server.", valueName: "s"))
    var handshakeSeconds = BenchOptions().handshakeSeconds
    @Option(name: .customLong("out"), help: ArgumentHelp("Where the report directory is created.", valueName: "dir"))
    var outDirectory = BenchOptions().outDirectory
    @Option(help: ArgumentHelp("Also rewrite this file (docs/benchmarks.md) from the run.", valueName: "file"))
    var publishDocs: String?
    @Option(help: ArgumentHelp("Only these verbs, comma-separated (names as in the report; default all).",
                               valueName: "a,b"))
    var verbs: String?
    @Flag(name: .customLong("no-fleet"), help: "Skip the fleet point (2 sidecars on PostgreSQL vs 1 on SQLite).")
    var noFleet = false
    @Option(help: ArgumentHelp("Only this point: fleet (make bench-fleet; its own report, and only its section of "
                               + "--publish-docs is replaced).", valueName: "point"))
    var only: String?

    func validate() throws {
        for (name, value) in [("--seconds", seconds ?? 1), ("--warmup", warmup), ("--handshake-seconds", handshakeSeconds),
                              ("--idle-connections", Double(idleConnections))] where !(value > 0) {
            throw ValidationError("\(name) needs a number > 0")
        }
        if let s = handshakesAfterLoad {
            guard s > 0 else { throw ValidationError("--handshakes-after-load needs a number > 0") }
            guard handshakesOnly else { throw ValidationError("--handshakes-after-load needs --handshakes-only") }
        }
        if let n = handshakeRounds {
            guard n > 0 else { throw ValidationError("--handshake-rounds needs a number > 0") }
            guard handshakesOnly else { throw ValidationError("--handshake-rounds needs --handshakes-only") }
        }
        if let only, only != "fleet" { throw ValidationError("--only knows one point: fleet") }
    }

    /// The options of the run: `--quick` clamps, and the default capgate sits next to this executable.
    var options: BenchOptions {
        var o = BenchOptions()
        o.quick = quick
        o.seconds = seconds ?? (quick ? 1.0 : o.seconds)
        o.warmup = warmup
        o.handshakeSeconds = handshakeSeconds
        o.idleConnections = idleConnections
        o.python = python
        o.reference = !noReference
        o.pythonClient = !noPythonClient
        o.nginx = !noNginx
        o.httpDriver = !noHTTPDriver
        o.h2load = !noH2load
        o.profile = !noProfile
        o.transportOnly = transportOnly
        o.handshakesOnly = handshakesOnly
        o.handshakesAfterLoad = handshakesAfterLoad ?? 0
        o.handshakeRounds = handshakeRounds ?? 1
        o.outDirectory = outDirectory
        o.publishDocs = publishDocs
        o.verbs = verbs.map { $0.split(separator: ",").map(String.init) } ?? []
        o.fleet = !noFleet
        o.only = only.map { [$0] } ?? []
        if quick {
            o.warmup = min(o.warmup, 0.3)
            o.handshakeSeconds = min(o.handshakeSeconds, 1.0)
            o.idleConnections = min(o.idleConnections, 100)
            o.profile = false
        }
        if let capgate, !capgate.isEmpty {
            o.capgate = capgate
        } else {
            // Next to this executable: both come out of the same `swift build`.
            let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            o.capgate = me.deletingLastPathComponent().appendingPathComponent("capgate").path
        }
        return o
    }
}

/// Why the harness stopped.
enum BenchError: Error, CustomStringConvertible {
    case usage(String)
    case setup(String)
    case child(String)

    var description: String {
        switch self {
        case .usage(let m): return "\(m)\n\(BenchCommand.usageString())"
        case .setup(let m): return "setup: \(m)"
        case .child(let m): return "child process: \(m)"
        }
    }
}
