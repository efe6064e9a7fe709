/// A driver that can also produce its result in chunks (docs/reference-semantics.md §3.6, §7.3;
/// the reference's `drivers/base.StreamingDriver`).
///
/// `invokeStream` uses the first planned driver that conforms; every other driver is served by
/// one `execute` call and one frame. Each chunk is an object; a truthy `"__is_final__"` key
/// marks the last one explicitly (it is stripped before the firewall), otherwise the end of the
/// sequence is the end of the stream.
///
/// Back-pressure: the kernel asks for the next chunk only when its consumer wants the next
/// frame, so a driver built with `AsyncThrowingStream(unfolding:)` (pull) is stalled by a slow
/// reader; a driver that pushes through a continuation buffers at its own risk. Cancellation
/// (the consumer went away, a timeout) terminates the sequence: a pushing driver sees it in
/// the continuation's `onTermination`, a pulling one as task cancellation.
public protocol StreamingDriver: Driver {
    /// The chunks of the capability's result for `ctx`. Throwing mid-stream ends the stream
    /// with that error (after the frames already produced).
    func executeStream(_ ctx: ExecutionContext) -> AsyncThrowingStream<JSONObject, any Error>
}

/// Thrown by a `StreamingDriver` as its first result when, at run time, it cannot stream after
/// all (a driver host's driver is not a StreamingDriver: `501` from `/v1/execute_stream`).
/// `invokeStream` then serves that driver as a non-streaming one: one `execute`, one frame.
public struct StreamingUnsupported: Error, Sendable {
    public init() {}
}
