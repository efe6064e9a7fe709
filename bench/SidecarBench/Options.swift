import Foundation

/// Command line of `capgate-bench`. Every knob has a default that `make bench` uses; `--quick`
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
    var nginx = true
    /// The HTTP-driver point (needs nginx as the tool).
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

    static let usage = """
        usage: capgate-bench [--quick] [--seconds S] [--warmup S] [--capgate PATH] [--python PATH]
                             [--no-reference] [--no-nginx] [--no-http-driver] [--no-h2load] [--no-profile]
                             [--idle-connections N] [--handshake-seconds S] [--out DIR]
                             [--publish-docs FILE] [--verbs a,b]
        """

    static func parse(_ arguments: [String]) throws -> BenchOptions {
        var o = BenchOptions()
        var args = arguments[...]
        func value(_ name: String) throws -> String {
            guard let v = args.popFirst() else { throw BenchError.usage("\(name) needs a value") }
            return v
        }
        func number(_ name: String) throws -> Double {
            guard let v = Double(try value(name)), v > 0 else { throw BenchError.usage("\(name) needs a number > 0") }
            return v
        }
        var explicitSeconds = false
        while let a = args.popFirst() {
            switch a {
            case "--quick": o.quick = true
            case "--seconds": o.seconds = try number(a); explicitSeconds = true
            case "--warmup": o.warmup = try number(a)
            case "--handshake-seconds": o.handshakeSeconds = try number(a)
            case "--idle-connections": o.idleConnections = Int(try number(a))
            case "--capgate": o.capgate = try value(a)
            case "--python": o.python = try value(a)
            case "--no-reference": o.reference = false
            case "--no-nginx": o.nginx = false
            case "--no-http-driver": o.httpDriver = false
            case "--no-h2load": o.h2load = false
            case "--no-profile": o.profile = false
            case "--out": o.outDirectory = try value(a)
            case "--publish-docs": o.publishDocs = try value(a)
            case "--verbs": o.verbs = try value(a).split(separator: ",").map(String.init)
            case "-h", "--help": throw BenchError.usage("")
            default: throw BenchError.usage("unknown argument \(a)")
            }
        }
        if o.quick {
            if !explicitSeconds { o.seconds = 1.0 }
            o.warmup = min(o.warmup, 0.3)
            o.handshakeSeconds = min(o.handshakeSeconds, 1.0)
            o.idleConnections = min(o.idleConnections, 100)
            o.profile = false
        }
        if o.capgate.isEmpty {
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
        case .usage(let m): return m.isEmpty ? BenchOptions.usage : "\(m)\n\(BenchOptions.usage)"
        case .setup(let m): return "setup: \(m)"
        case .child(let m): return "child process: \(m)"
        }
    }
}
