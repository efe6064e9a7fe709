import CapgateCLI
import CapgateIO
import Foundation

// capgate-bench (make bench, make bench-quick): the kernel in process, the sidecar over the
// Swift client at three concurrencies, the Python reference, nginx static and our no-op
// route as transport baselines, handshakes, memory per idle connection, an h2load
// cross-check and a perf profile; writes bench/reports/<date>-<commit>/. See
// docs/benchmarks.md. Goals are reported, never enforced: the exit code says only whether
// the harness itself worked.

signal(SIGPIPE, SIG_IGN)
let options = CommandLineEntry.parse(BenchCommand.self, tool: "capgate-bench").options
do {
    let runner = try BenchRunner(options)
    let dir = try await runner.execute()
    print("report: \(dir)/report.md")
} catch {
    FileHandle.standardError.write("capgate-bench: \(error)\n".data(using: .utf8)!)
    exit(1)
}
