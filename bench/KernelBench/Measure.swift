import Foundation

/// Percentiles of one measured operation, in nanoseconds.
struct Sample {
    var p50: Int
    var p99: Int
    var n: Int
    /// p50 of each call's process CPU time (0 when not measured).
    var cpuP50 = 0
    /// Mean wall time: the timer ticks in steps of ~10 ns here, so a p50 of a call of a few
    /// dozen ns moves in those steps while the mean shows a change of a few ns.
    var mean = 0
}

@inline(__always) func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Process CPU time: unlike wall time, not inflated when the machine's load preempts a call
/// (the reference's multi-ms invokes almost always are on a busy 2-core machine).
@inline(__always) func cpuNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Nearest-rank percentile on sorted samples, the same rule as bench/reference_bench.py.
func percentile(_ sorted: [UInt64], _ q: Double) -> Int {
    guard !sorted.isEmpty else { return 0 }
    let i = min(sorted.count - 1, max(0, Int((q * Double(sorted.count - 1)).rounded())))
    return Int(sorted[i])
}

/// Warm up, then time `body` one call at a time for `seconds` (at least `minN` calls), or
/// exactly `iterations` calls when given (instruction counts under callgrind).
func measure(seconds: Double, minN: Int = 50, iterations: Int? = nil,
             _ body: () async throws -> Void) async rethrows -> Sample {
    for _ in 0..<max(10, min(200, minN / 5)) { try await body() }
    var samples: [UInt64] = []
    samples.reserveCapacity(1 << 16)
    var cpuSamples: [UInt64] = []
    cpuSamples.reserveCapacity(1 << 16)
    let deadline = monotonicNanos() + UInt64(seconds * 1e9)
    func more() -> Bool {
        if let iterations { return samples.count < iterations }
        return monotonicNanos() < deadline || samples.count < minN
    }
    while more() {
        // CPU time is read outside the wall window (it is a system call, not vDSO).
        let c0 = cpuNanos()
        let t0 = monotonicNanos()
        try await body()
        let t1 = monotonicNanos()
        cpuSamples.append(cpuNanos() - c0)
        samples.append(t1 - t0)
    }
    let total = samples.reduce(0, &+)
    samples.sort()
    cpuSamples.sort()
    return Sample(p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), n: samples.count,
                  cpuP50: percentile(cpuSamples, 0.5), mean: samples.isEmpty ? 0 : Int(total / UInt64(samples.count)))
}

/// Runs bench/reference_bench.py and parses its JSON; empty when the reference is missing.
func runReference(python: String, seconds: Double) -> [String: Sample] {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: python)
    p.arguments = ["bench/reference_bench.py", "--seconds", String(seconds)]
    let pipe = Pipe()
    p.standardOutput = pipe
    do { try p.run() } catch {
        FileHandle.standardError.write("reference not run: \(error)\n".data(using: .utf8)!)
        return [:]
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0, let obj = try? JSONSerialization.jsonObject(with: data) as? [String: [String: Int]]
    else { return [:] }
    var out: [String: Sample] = [:]
    for (k, v) in obj {
        out[k] = Sample(p50: v["p50_ns"] ?? 0, p99: v["p99_ns"] ?? 0, n: v["n"] ?? 0, cpuP50: v["cpu_p50_ns"] ?? 0)
    }
    return out
}

func formatNanos(_ ns: Int) -> String {
    if ns >= 1_000_000 { return String(format: "%.2f ms", Double(ns) / 1e6) }
    if ns >= 1_000 { return String(format: "%.1f us", Double(ns) / 1e3) }
    return "\(ns) ns"
}

/// The empty call both harnesses time first (bench/reference_bench.py names it the same).
let timerFloorPoint = "harness/timer_floor"

/// `reference.p50 / swift.p50` once each side's timer floor (the p50 of an empty call) is
/// taken off: for calls of a few hundred ns the floors (~25 ns here, ~60 ns for Python's
/// `perf_counter_ns` and lambda call) are a large part of both p50s. Nil without floors,
/// for the floor row itself, or when a p50 is not above its floor.
func netRatio(_ key: String, swift: [String: Sample], reference: [String: Sample]) -> Double? {
    guard key != timerFloorPoint, let s = swift[key], let r = reference[key],
          let sf = swift[timerFloorPoint], let rf = reference[timerFloorPoint],
          s.p50 > sf.p50, r.p50 > rf.p50 else { return nil }
    return Double(r.p50 - rf.p50) / Double(s.p50 - sf.p50)
}

func printTable(swift: [String: Sample], reference: [String: Sample]) {
    let header = ["scenario/verb", "swift p50", "swift p99", "reference p50", "reference p99", "ratio p50",
                  "ratio p50 net of timer floor", "swift CPU p50", "reference CPU p50", "ratio CPU p50"]
    var rows: [[String]] = []
    for key in swift.keys.sorted() {
        let s = swift[key]!
        var row = [key, formatNanos(s.p50), formatNanos(s.p99)]
        if let r = reference[key] {
            let net = netRatio(key, swift: swift, reference: reference).map { String(format: "%.1fx", $0) } ?? "-"
            row += [formatNanos(r.p50), formatNanos(r.p99), String(format: "%.0fx", Double(r.p50) / Double(max(s.p50, 1))),
                    net, formatNanos(s.cpuP50), formatNanos(r.cpuP50),
                    String(format: "%.0fx", Double(r.cpuP50) / Double(max(s.cpuP50, 1)))]
        } else {
            row += ["-", "-", "-", "-", formatNanos(s.cpuP50), "-", "-"]
        }
        rows.append(row)
    }
    print("| " + header.joined(separator: " | ") + " |")
    print("|" + header.map { _ in "---" }.joined(separator: "|") + "|")
    for r in rows { print("| " + r.joined(separator: " | ") + " |") }
}
