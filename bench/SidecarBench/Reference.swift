import Foundation
import Histogram

/// The Python reference (weaver-kernel 0.12.0) in process, in the same run: runs
/// bench/reference_bench.py --raw --scenario billing and turns its samples into the same
/// HdrHistogram summaries as every other point. Empty (with a note) when the venv is missing.
enum ReferenceRunner {
    static func run(python: String, seconds: Double, warmup: Double, verbs: [BenchVerb],
                    progress: Progress) -> (points: [PointResult], version: String?, note: String?) {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            return ([], nil, "reference not run: no Python at \(python) (make venv)")
        }
        progress.point("reference (Python, in process): \(verbs.count) verbs x \(seconds) s")
        let version = capture(python, ["-c", "import importlib.metadata as m; print(m.version('weaver-kernel'))"])?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard let out = capture(python, ["bench/reference_bench.py", "--raw", "--scenario", "billing",
                                         "--seconds", String(seconds), "--warmup", String(warmup)]),
              let obj = try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        else { return ([], version, "reference not run: bench/reference_bench.py failed") }
        var points: [PointResult] = []
        for verb in verbs {
            guard let entry = obj["billing/\(verb.rawValue)"] as? [String: Any],
                  let samples = entry["samples_ns"] as? [NSNumber] else { continue }
            var h = newHistogram()
            for s in samples { _ = h.record(max(1, s.uint64Value)) }
            let elapsed = (entry["elapsed_ns"] as? NSNumber)?.doubleValue ?? 0
            let cpu = (entry["cpu_ns"] as? NSNumber)?.doubleValue ?? 0
            points.append(PointResult(
                target: "reference", verb: verb.rawValue, connections: 0, streams: 1, latency: LatencySummary(h),
                meanLatencyNs: nil, throughput: elapsed > 0 ? Double(samples.count) / (elapsed / 1e9) : 0,
                requests: samples.count, errors: 0, firstError: nil, seconds: elapsed / 1e9,
                cpuSeconds: cpu / 1e9, cpuSource: "time.process_time of the Python process", peakRSSKiB: nil,
                note: nil))
        }
        return (points, version, nil)
    }

    /// Runs a command to completion and returns its stdout (nil on failure).
    static func capture(_ executable: String, _ arguments: [String]) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        do { try p.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return p.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }
}
