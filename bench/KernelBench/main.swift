import AgentKernel
import ArgumentParser
import CapgateCLI
import Foundation

// kernel-bench: p50/p99 of each verb in process, on the reference README's quickstart and
// on the billing data, next to the Python reference measured in the same run
// (bench/reference_bench.py through the venv). Prints a table; never a test gate.
// Options: `kernel-bench --help` (swift-argument-parser).

struct Options: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel-bench",
        abstract: "p50/p99 of each kernel verb in process, next to the Python reference measured in the same run.")

    @Option(help: ArgumentHelp("Measured seconds per point.", valueName: "s"))
    var seconds = 1.0
    @Option(help: ArgumentHelp("The Python with the reference installed (make venv).", valueName: "path"))
    var python = ".venv/bin/python"
    @Flag(name: .customLong("no-reference"), help: "Skip the Python reference.")
    var noReference = false
    @Option(name: .customLong("json"), help: ArgumentHelp("Also write the results as JSON to this file.", valueName: "out"))
    var jsonOut: String?
    /// Only points whose "scenario/verb" name contains this text (profiling).
    @Option(help: ArgumentHelp("Only points whose scenario/verb name contains this text (profiling).", valueName: "text"))
    var only: String?
    @Option(help: ArgumentHelp("Exactly this many timed calls per point instead of --seconds (profiling).",
                               valueName: "n"))
    var iterations: Int?
    @Flag(name: .customLong("no-json"), help: "Skip the JSON points (the wire frame's encode and decode).")
    var noJSON = false

    var reference: Bool { !noReference }
}

let options = CommandLineEntry.parse(Options.self, tool: "kernel-bench")
let swiftResults = try await runSwiftBench(seconds: options.seconds, iterations: options.iterations,
                                           only: options.only)
let jsonPoints = options.noJSON ? [] : try await runJSONBench(seconds: options.seconds, iterations: options.iterations,
                                                             only: options.only)
var referenceResults: [String: Sample] = [:]
if options.reference {
    FileHandle.standardError.write("running the Python reference (\(options.python))…\n".data(using: .utf8)!)
    referenceResults = runReference(python: options.python, seconds: options.seconds)
}
printTable(swift: swiftResults, reference: referenceResults)
printJSONTable(jsonPoints)
if let path = options.jsonOut {
    var o = JSONObject()
    for (k, s) in swiftResults.sorted(by: { $0.key < $1.key }) {
        var row: JSONObject = ["swift_p50_ns": .int(s.p50), "swift_p99_ns": .int(s.p99), "swift_n": .int(s.n),
                               "swift_cpu_p50_ns": .int(s.cpuP50), "swift_mean_ns": .int(s.mean)]
        if let r = referenceResults[k] {
            row["reference_p50_ns"] = .int(r.p50)
            row["reference_p99_ns"] = .int(r.p99)
            row["ratio_p50"] = .double(Double(r.p50) / Double(max(s.p50, 1)))
            if let net = netRatio(k, swift: swiftResults, reference: referenceResults) {
                row["ratio_p50_net_of_timer_floor"] = .double(net)
            }
            row["reference_cpu_p50_ns"] = .int(r.cpuP50)
            row["ratio_cpu_p50"] = .double(Double(r.cpuP50) / Double(max(s.cpuP50, 1)))
        }
        o[k] = .object(row)
    }
    for p in jsonPoints {
        o[p.name] = .object(["swift_p50_ns": .int(p.sample.p50), "swift_p99_ns": .int(p.sample.p99),
                             "swift_n": .int(p.sample.n), "bytes": .int(p.bytes),
                             "mb_per_s_p50": .double(p.megabytesPerSecond)])
    }
    try JSONValue.object(o).serialized().write(toFile: path, atomically: true, encoding: .utf8)
}
