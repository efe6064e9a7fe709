/// Receives a streamed response as it arrives instead of one buffered body (`invoke_stream`,
/// driver-host `execute_stream`). Called on the session's thread, inside `receive`; the final
/// `.response` event (with an empty body) or `.streamReset` still reports how the stream ended.
public protocol H2ResponseSink: AnyObject, Sendable {
    /// The request got this stream id (for a later reset). Returning false resets the stream at
    /// once (its consumer stopped before the request was even opened).
    func opened(streamID: Int32) -> Bool
    /// The final response head (status >= 200), once.
    func head(status: Int, headers: [(name: String, value: String)])
    /// The next DATA payload.
    func data(_ bytes: [UInt8])
}
