/// A micro-benchmark of the redaction hot path (not a test gate): scrubs a batch of 80
/// short strings (the shape docs/platform-notes.md measured: clean text, numbers, ids, and a few
/// secrets) and reports the median time per batch. Call from `kernel-bench` in release.
public enum RedactionBenchmark {
    public struct Result: Sendable {
        /// Median wall time to scrub one batch of `batchSize` strings, in microseconds.
        public let medianMicrosPerBatch: Double
        public let batchSize: Int
        /// How many strings of the batch changed (a guard against a no-op benchmark).
        public let redactedPerBatch: Int
    }

    /// The batch: mostly clean agent-facing text, as in real tool output.
    public static let batch: [String] = {
        var out: [String] = []
        let clean = ["status: paid", "invoice INV-2024-00017", "Total rows: 200", "currency EUR", "region eu-west",
                     "note: call back tomorrow", "id 42", "2024-01-15", "ok", "Ünïcödé tëxt ✓"]
        let dirty = ["contact alice@example.com", "call 555-123-4567", "card 4111 1111 1111 1111", "ssn 123-45-6789",
                     "Authorization: Bearer abc.def", "jwt eyJa.eyJb.c", "api_key=abcdefgh1234",
                     "postgres://u:p@db/app"]
        for i in 0..<72 { out.append(clean[i % clean.count] + " #\(i)") }
        out.append(contentsOf: dirty)
        return out
    }()

    /// Runs `rounds` timed batches after a warm-up (pattern compilation, JIT) and
    /// returns the median.
    public static func run(rounds: Int = 2000, clock: any KernelClock = SystemClock()) -> Result {
        var redacted = 0
        for s in batch where Redaction.redactString(s) != s { redacted += 1 }
        var samples: [Double] = []
        samples.reserveCapacity(rounds)
        var sink = 0
        for _ in 0..<max(1, rounds) {
            let t0 = clock.monotonic()
            for s in batch { sink &+= Redaction.redactString(s).utf8.count }
            samples.append((clock.monotonic() - t0) * 1e6)
        }
        samples.sort()
        precondition(sink != 0)  // keeps the loop observable to the optimiser
        return Result(medianMicrosPerBatch: samples[samples.count / 2], batchSize: batch.count,
                      redactedPerBatch: redacted)
    }
}
