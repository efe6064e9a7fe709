import CapgateHTTP2

/// Streamed responses on the connection's loop (docs/design.md §5): the head and each chunk
/// come from the handler's task through `ResponseStream`, which posts them here; after every
/// output round the connection tells each producer how much HTTP/2 has taken, which is what
/// releases a producer waiting at the write high-water mark.
extension ServerConnection {
    func beginStream(_ writer: ResponseStream, status: Int, headers: [(name: String, value: String)]) {
        guard lifecycle.isEstablished, let session,
              session.respondStreaming(streamID: writer.streamID, status: status, headers: headers) else {
            writer.close()
            return
        }
        streamWriters[writer.streamID] = writer
        scheduleStreamOutput()
    }

    /// False when the stream is gone (the writer is then closed by the caller).
    func appendStream(_ streamID: Int32, _ bytes: [UInt8], end: Bool) -> Bool {
        guard lifecycle.isEstablished, let session, session.appendStreamData(streamID: streamID, bytes, end: end) else {
            return false
        }
        scheduleStreamOutput()
        return true
    }

    /// Reports progress to every producer; closes the ones whose stream is gone.
    func reportStreamProgress() {
        guard let session else { return }
        for (streamID, writer) in streamWriters {
            if let sent = session.streamBytesSent(streamID: streamID) {
                writer.progress(sent: sent)
            } else {
                streamWriters[streamID] = nil
                writer.close()
            }
        }
    }

    /// Flush once at the end of this loop iteration (chunks queued together leave together).
    private func scheduleStreamOutput() { core.scheduleAfterIO() }
}
