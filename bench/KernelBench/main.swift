import AgentKernel
import Foundation

// kernel-bench: p50/p99 of each verb in process, on the reference README's quickstart and
// on the billing data, next to the Python reference measured in the same run
// (bench/reference_bench.py through the venv). Prints a table; never a test gate.
//
// Usage: kernel-bench [--seconds S] [--python PATH] [--no-reference] [--json OUT]

struct Options {
    var seconds = 1.0
    var python = ".venv/bin/python"
    var reference = true
    var jsonOut: String?
    /// Only points whose "scenario/verb" name contains this text (profiling).
    var only: String?
}

var options = Options()
var argv = CommandLine.arguments.dropFirst()
while let a = argv.popFirst() {
    switch a {
    case "--seconds": options.seconds = Double(argv.popFirst() ?? "") ?? options.seconds
    case "--python": options.python = argv.popFirst() ?? options.python
    case "--no-reference": options.reference = false
    case "--json": options.jsonOut = argv.popFirst()
    case "--only": options.only = argv.popFirst()
    default:
        FileHandle.standardError.write("unknown argument \(a)\n".data(using: .utf8)!)
        exit(2)
    }
}

let swiftResults = try await runSwiftBench(seconds: options.seconds, only: options.only)
var referenceResults: [String: Sample] = [:]
if options.reference {
    FileHandle.standardError.write("running the Python reference (\(options.python))…\n".data(using: .utf8)!)
    referenceResults = runReference(python: options.python, seconds: options.seconds)
}
printTable(swift: swiftResults, reference: referenceResults)
if let path = options.jsonOut {
    var o = JSONObject()
    for (k, s) in swiftResults.sorted(by: { $0.key < $1.key }) {
        var row: JSONObject = ["swift_p50_ns": .int(s.p50), "swift_p99_ns": .int(s.p99), "swift_n": .int(s.n)]
        if let r = referenceResults[k] {
            row["reference_p50_ns"] = .int(r.p50)
            row["reference_p99_ns"] = .int(r.p99)
            row["ratio_p50"] = .double(Double(r.p50) / Double(max(s.p50, 1)))
        }
        o[k] = .object(row)
    }
    try JSONValue.object(o).serialized().write(toFile: path, atomically: true, encoding: .utf8)
}
