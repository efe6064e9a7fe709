import AgentKernel
import Foundation

/// Told about every driver execution: driver id, outcome (`ok`, `error`, `cancelled`), seconds.
public typealias DriverCallObserver = @Sendable (_ driver: String, _ outcome: String, _ seconds: Double) -> Void

/// A driver that reports each `execute` to the metrics and otherwise is the driver it wraps:
/// same id, same result, same error. WHY a wrapper registered by `KernelFactory` and not a
/// hook in the kernel: the kernel stays free of operational concerns, and the wrapper sees
/// exactly what the kernel's fallback executor sees.
///
/// A streaming driver keeps its streaming path untouched (`MeasuredStreamingDriver` forwards
/// `executeStream` as is, so backpressure and cancellation are the driver's own); only its
/// whole-answer `execute` calls are measured. docs/operations.md says so.
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

    func executeStream(_ ctx: ExecutionContext) -> AsyncThrowingStream<JSONObject, any Error> {
        inner.executeStream(ctx)
    }
}
