import Foundation
import Histogram
import Synchronization

@inline(__always) func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Latency percentiles of one point, in nanoseconds (HdrHistogram, 3 significant digits).
struct LatencySummary: Sendable, Codable {
    var count: Int
    var p50: UInt64
    var p90: UInt64
    var p99: UInt64
    var p999: UInt64
    var max: UInt64
    var mean: Double

    init(_ h: Histogram<UInt64>) {
        count = Int(h.totalCount)
        p50 = h.valueAtPercentile(50)
        p90 = h.valueAtPercentile(90)
        p99 = h.valueAtPercentile(99)
        p999 = h.valueAtPercentile(99.9)
        max = h.max
        mean = h.mean
    }
}

/// Raw outcome of one closed-loop run.
struct LoadOutcome: Sendable {
    var histogram: Histogram<UInt64>
    var errors: Int
    var firstError: String?
    var elapsed: Double
    var cpuSeconds: Double?
    var peakRSSKiB: Int?
    /// The harness's own CPU over the measured window (`measureHarnessCPU`): the client side
    /// of a point whose server is a child process.
    var harnessCPUSeconds: Double?
    var throughput: Double { elapsed > 0 ? Double(histogram.totalCount) / elapsed : 0 }
}

func newHistogram() -> Histogram<UInt64> {
    // 1 ns .. 60 s at 3 significant digits.
    Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
}

/// Closed-loop load: `concurrency` workers, each calling `op(worker)` back to back, first for
/// `warmup` seconds (not recorded), then for `seconds` (every call timed). Each worker keeps
/// its own histogram (no shared state on the hot path); they are merged at the end.
/// Closed loop means latency under saturation is measured without coordinated-omission
/// correction: the report says so.
enum LoadRunner {
    /// `executor`: where worker `w`'s task runs (nil: the cooperative pool), e.g. the event loop
    /// of the connection it calls, so a call and its answer wake no other thread.
    /// `syncOp`: when given, timed instead of `op`, as a plain call. A synchronous verb
    /// (explain, expand, grant) called through an escaping async closure pays for an async
    /// call frame on every iteration (~30 ns on a 70 ns call here), which the Python
    /// reference's harness, a plain `fn()` call, does not: both sides then time a plain call.
    static func run(concurrency: Int, warmup: Double, seconds: Double, progress: Progress, meter: Meter? = nil,
                    executor: (@Sendable (Int) -> (any TaskExecutor)?)? = nil,
                    syncOp: (@Sendable (Int) throws -> Void)? = nil,
                    measureHarnessCPU: Bool = false,
                    op: @escaping @Sendable (Int) async throws -> Void) async -> LoadOutcome {
        if warmup > 0 {
            let end = monotonicNanos() + UInt64(warmup * 1e9)
            await withTaskGroup(of: Void.self) { group in
                for w in 0..<concurrency {
                    group.addTask(executorPreference: executor?(w)) {
                        if let syncOp {
                            while monotonicNanos() < end { try? syncOp(w) }
                        } else {
                            while monotonicNanos() < end { try? await op(w) }
                        }
                    }
                }
            }
        }
        progress.beginMeasuring(seconds: seconds)
        meter?.start()
        let harnessCPUStart = measureHarnessCPU ? ProcStats.selfCPUSeconds() : 0
        let start = monotonicNanos()
        let end = start + UInt64(seconds * 1e9)
        let counter = progress.counter
        let parts = await withTaskGroup(of: (Histogram<UInt64>, Int, String?).self) { group in
            for w in 0..<concurrency {
                group.addTask(executorPreference: executor?(w)) {
                    var h = newHistogram()
                    var errors = 0
                    var first: String?
                    // The synchronous op is unwrapped once, before its own loop: bound from
                    // the optional inside the timed window (next to an `await` the window
                    // then also held), it cost a retain and release of the closure on every
                    // call, one ~10 ns tick of this clock on a ~50 ns explain, which the
                    // reference's harness (a plain `fn()`) does not pay. Either loop times
                    // exactly one call between two clock reads, as reference_bench.py does.
                    if let syncOp {
                        while true {
                            let t0 = monotonicNanos()
                            if t0 >= end { break }
                            do {
                                try syncOp(w)
                                _ = h.record(monotonicNanos() - t0)
                                counter.value.add(1, ordering: .relaxed)
                            } catch {
                                errors += 1
                                if first == nil { first = String(describing: error) }
                            }
                        }
                        return (h, errors, first)
                    }
                    while true {
                        let t0 = monotonicNanos()
                        if t0 >= end { break }
                        do {
                            try await op(w)
                            _ = h.record(monotonicNanos() - t0)
                            counter.value.add(1, ordering: .relaxed)
                        } catch {
                            errors += 1
                            if first == nil { first = String(describing: error) }
                        }
                    }
                    return (h, errors, first)
                }
            }
            var all: [(Histogram<UInt64>, Int, String?)] = []
            for await p in group { all.append(p) }
            return all
        }
        let elapsed = Double(monotonicNanos() - start) / 1e9
        let usage = meter?.stop()
        let harnessCPU = measureHarnessCPU ? ProcStats.selfCPUSeconds() - harnessCPUStart : nil
        progress.endMeasuring()
        var merged = newHistogram()
        var errors = 0
        var first: String?
        for (h, e, f) in parts {
            merged.add(h)
            errors += e
            first = first ?? f
        }
        return LoadOutcome(histogram: merged, errors: errors, firstError: first, elapsed: elapsed,
                           cpuSeconds: usage?.cpu, peakRSSKiB: usage?.peakKiB, harnessCPUSeconds: harnessCPU)
    }
}

/// Terminal progress: "[i/N] point", then a ticker line every second while measuring
/// ("2.0/5.0 s, 24,100 requests"), to stderr so stdout stays clean.
final class Progress: Sendable {
    /// Requests done in the current measured window (read by the ticker).
    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    let counter = Counter()
    private let state = Mutex<(index: Int, total: Int, ticker: Task<Void, Never>?)>((0, 0, nil))

    func setTotal(_ n: Int) { state.withLock { $0.total = n } }

    func point(_ label: String) {
        let (i, n) = state.withLock { s -> (Int, Int) in
            s.index += 1
            return (s.index, s.total)
        }
        Progress.say("[\(i)/\(n)] \(label)")
    }

    func beginMeasuring(seconds: Double) {
        counter.value.store(0, ordering: .relaxed)
        let counter = self.counter
        let start = Date()
        let task = Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                if Task.isCancelled { break }
                let t = Date().timeIntervalSince(start)
                Progress.say(String(format: "      %.1f/%.1f s, %d requests", min(t, seconds), seconds,
                                    counter.value.load(ordering: .relaxed)))
            }
        }
        state.withLock { $0.ticker = task }
    }

    func endMeasuring() {
        state.withLock { s in
            s.ticker?.cancel()
            s.ticker = nil
        }
    }

    static func say(_ line: String) {
        FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
    }
}
