import Foundation
import Histogram

/// The Python client (clients/python, `capgate.RemoteKernel.connect`) against this run's
/// sidecar: runs bench/python_client_bench.py with the certificate the bench issued to
/// `alice` and turns its samples into the same HdrHistogram summaries as every other point.
/// - `python-client` / `invoke_summary` 1x1: billing.list_invoices (summary mode) over one warm connection, one
///   synchronous caller (compare with `reference` in process, same run);
/// - `python-decode` / `<answer>_json_loads` and `<answer>_dataclasses`, in process: what the
///   client spends turning a real answer into the reference's objects.
/// Empty (with a note) when the venv or the script fails.
enum PythonClientRunner {
    static let decodeTarget = "python-decode"

    static func run(python: String, port: UInt16, workspace ws: Workspace, seconds: Double, warmup: Double,
                    progress: Progress) -> (points: [PointResult], note: String?) {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            return ([], "Python client not run: no Python at \(python) (make venv)")
        }
        progress.point("python client (capgate.RemoteKernel): invoke_summary 1x1 + decode, \(seconds) s")
        guard let out = ReferenceRunner.capture(python, [
            "bench/python_client_bench.py", "--url", "https://127.0.0.1:\(port)",
            "--cert", ws.pki.agentCertificatePath(Workspace.agent), "--key", ws.pki.agentKeyPath(Workspace.agent),
            "--ca", ws.pki.caCertificatePath, "--seconds", String(seconds), "--warmup", String(warmup),
        ]), let obj = try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        else { return ([], "Python client not run: bench/python_client_bench.py failed") }
        var points: [PointResult] = []
        let connections = (obj["connections_opened"] as? NSNumber)?.intValue ?? 1
        if let entry = obj["invoke_summary"] as? [String: Any],
           let p = point(entry, target: "python-client", verb: BenchVerb.invokeSummary.rawValue, connections: 1,
                         note: connections == 1 ? nil : "\(connections) connections opened") {
            points.append(p)
        }
        for (answer, value) in (obj["decode"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard let d = value as? [String: Any] else { continue }
            let bytes = (d["bytes"] as? NSNumber)?.intValue ?? 0
            for stage in ["json_loads", "dataclasses"] {
                if let entry = d[stage] as? [String: Any],
                   let p = point(entry, target: decodeTarget, verb: "\(answer)_\(stage)", connections: 0,
                                 note: "\(bytes) B answer") {
                    points.append(p)
                }
            }
        }
        return (points, nil)
    }

    /// The terminal lines of the point: the invoke p50 against the reference's, and the decode
    /// of a summary Frame (the reference's point, when it ran, precedes this one).
    static func summary(_ run: BenchRun) -> [String] {
        var lines: [String] = []
        if let py = run.point("python-client", BenchVerb.invokeSummary.rawValue, 1, 1)?.latency {
            var line = "      -> python client invoke_summary 1x1: p50 \(Fmt.ns(py.p50))  p99 \(Fmt.ns(py.p99))"
            if let ref = run.point("reference", BenchVerb.invokeSummary.rawValue, 0, 1)?.latency, ref.p50 > 0 {
                line += "  = \(Fmt.ratio(Double(py.p50) / Double(ref.p50))) the reference in process (\(Fmt.ns(ref.p50)))"
            }
            lines.append(line)
        }
        let loads = run.point(decodeTarget, "summary_frame_json_loads", 0, 1)?.latency
        let objects = run.point(decodeTarget, "summary_frame_dataclasses", 0, 1)?.latency
        if let loads, let objects {
            lines.append("      -> python client decode of a summary Frame: json.loads p50 \(Fmt.ns(loads.p50)) "
                         + "+ dataclasses p50 \(Fmt.ns(objects.p50))")
        }
        return lines
    }

    private static func point(_ entry: [String: Any], target: String, verb: String, connections: Int,
                              note: String?) -> PointResult? {
        guard let samples = entry["samples_ns"] as? [NSNumber], !samples.isEmpty else { return nil }
        var h = newHistogram()
        for s in samples { _ = h.record(max(1, s.uint64Value)) }
        let elapsed = (entry["elapsed_ns"] as? NSNumber)?.doubleValue ?? 0
        let cpu = (entry["cpu_ns"] as? NSNumber)?.doubleValue ?? 0
        return PointResult(
            target: target, verb: verb, connections: connections, streams: 1, latency: LatencySummary(h),
            meanLatencyNs: nil, throughput: elapsed > 0 ? Double(samples.count) / (elapsed / 1e9) : 0,
            requests: samples.count, errors: 0, firstError: nil, seconds: elapsed / 1e9,
            cpuSeconds: cpu / 1e9, cpuSource: "time.process_time of the Python client process", peakRSSKiB: nil,
            note: note)
    }
}
