/// A capability execution backend (docs/reference-semantics.md §7.3; `drivers/base.Driver`).
///
/// Drivers are shared by every connection of the sidecar, hence `Sendable`. A failure should
/// be thrown as `KernelError(.driverError, …)`; any other error is still caught by the
/// fallback executor and counted as a failed attempt (I-02: every driver fault is audited).
/// A thrown `CancellationError` is treated as task cancellation, like Python's
/// `CancelledError`, and stops the fallback walk.
public protocol Driver: Sendable {
    /// The id route plans name this driver by; the kernel keys drivers by it.
    var driverID: String { get }
    /// Runs the capability for `ctx` and returns its unfiltered result.
    func execute(_ ctx: ExecutionContext) async throws -> RawResult
}

extension FallbackExecutor {
    /// Python `str(exc)` as the reference interpolates a failure into messages (e.g. the
    /// kernel's "All drivers failed … Last error: <str>"): a `KernelError` is its message
    /// (the exception's argument); any other Swift error is its `description`.
    public static func pythonStr(_ error: any Error) -> String {
        if let k = error as? KernelError { return k.message }
        return String(describing: error)
    }
}
