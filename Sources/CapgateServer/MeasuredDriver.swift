import AgentKernel
import Foundation

/// Told about every driver execution: driver id, outcome (`ok`, `error`, `cancelled`), seconds.
public typealias DriverCallObserver = @Sendable (_ driver: String, _ outcome: String, _ seconds: Double) -> Void

/// A driver that reports each `execute` to the metrics and otherwise is the driver it wraps:
/// same id, same result, same error. WHY a wrapper registered by `KernelFactory` and not a
/// hook in the kernel: the kernel stays free of operational concerns, and the wrapper sees
/// exactly what the kernel's fallback executor sees.
///
/// A streaming driver keeps its streaming conformance (`MeasuredStreamingDriver`): its stream is
/// passed through chunk by chunk and counted once when it ends.
struct MeasuredDriver: Driver {
    let inner: any Driver
    let observe: DriverCallObserver
    var driverID: String { inner.driverID }

    func execute(_ ctx: ExecutionContext) async throws -> RawResult {
        try await Self.measure(inner, ctx, observe)
    }

    static func measure(_ inner: any Driver, _ ctx: ExecutionContext, _ observe: DriverCallObserver) async throws -> RawResult {
        let started = ContinuousClock.now
        do {
            let result = try await inner.execute(ctx)
            observe(inner.driverID, "ok", GatewayMetricsClock.seconds(since: started))
            return result
        } catch {
            let outcome = error is CancellationError || Task.isCancelled ? "cancelled" : "error"
            observe(inner.driverID, outcome, GatewayMetricsClock.seconds(since: started))
            throw error
        }
    }

    /// `driver` measured by `observe`, keeping its streaming conformance; unchanged when nil.
    static func wrap(_ driver: any Driver, _ observe: DriverCallObserver?) -> any Driver {
        guard let observe else { return driver }
        if let streaming = driver as? any StreamingDriver { return MeasuredStreamingDriver(inner: streaming, observe: observe) }
        return MeasuredDriver(inner: driver, observe: observe)
    }
}

struct MeasuredStreamingDriver: StreamingDriver {
    let inner: any StreamingDriver
    let observe: DriverCallObserver
    var driverID: String { inner.driverID }

    func execute(_ ctx: ExecutionContext) async throws -> RawResult {
        try await MeasuredDriver.measure(inner, ctx, observe)
    }

    /// The driver's stream, pulled one chunk per pull (`unfolding`: no buffer of ours, so
    /// backpressure is unchanged; a pull runs in the consumer's task, so cancellation reaches
    /// the driver as before). Counted once, when it ends: `ok` at its end, `error` or
    /// `cancelled` when it throws, `cancelled` when the consumer drops it first (the kernel
    /// stopped: a reset stream, a timeout). A `StreamingUnsupported` answer is not counted:
    /// the kernel falls back to `execute`, which is.
    func executeStream(_ ctx: ExecutionContext) -> AsyncThrowingStream<JSONObject, any Error> {
        let pull = StreamPull(inner.executeStream(ctx), driver: inner.driverID, observe: observe)
        return AsyncThrowingStream(unfolding: { try await pull.next() })
    }
}

/// The driver's iterator and the once-only report of how its stream ended. Used by one
/// consumer at a time (the AsyncIterator contract), hence `@unchecked Sendable`.
final class StreamPull: @unchecked Sendable {
    private var iterator: AsyncThrowingStream<JSONObject, any Error>.AsyncIterator
    private let driver: String
    private let observe: DriverCallObserver
    private let started = ContinuousClock.now
    private var reported = false

    init(_ stream: AsyncThrowingStream<JSONObject, any Error>, driver: String, observe: @escaping DriverCallObserver) {
        self.iterator = stream.makeAsyncIterator()
        self.driver = driver
        self.observe = observe
    }

    func next() async throws -> JSONObject? {
        do {
            if let chunk = try await iterator.next() { return chunk }
            report("ok")
            return nil
        } catch let unsupported as StreamingUnsupported {
            reported = true
            throw unsupported
        } catch {
            report(error is CancellationError || Task.isCancelled ? "cancelled" : "error")
            throw error
        }
    }

    private func report(_ outcome: String) {
        guard !reported else { return }
        reported = true
        observe(driver, outcome, GatewayMetricsClock.seconds(since: started))
    }

    deinit { report("cancelled") }
}
