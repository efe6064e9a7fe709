import AgentKernel
import CapgateDrivers
import CapgateHTTPClient

/// Target: the driver-host answer reader (`HostWire.decodeAnswer`), which parses bytes a
/// separate process sends the sidecar (docs/drivers.md). The first byte picks the size cap
/// (so the cap's edge is fuzzed too); the rest is the body.
///
/// Invariants: an accepted body is within the cap and is exactly one of the two shapes when
/// read by the generic JSON reader; re-encoding the answer in its canonical shape decodes to
/// the same answer. The same bytes also go through the `/v1/execute_stream` line reader
/// (`HostWire.decodeStreamLine`) with the same invariants for its three shapes, and, as a
/// whole `/v1/execute_stream` body, through the NDJSON framing the driver reads it with
/// (`LineSplitter`, fed in chunks of `(first & 15) + 1` bytes as DATA frames would cut it):
/// the lines are the body's newline-separated pieces whatever the chunking, a piece over the
/// cap is refused, and each line then decodes as above.
enum FuzzHostAnswer {
    static func run(_ data: UnsafeRawBufferPointer) {
        guard let first = data.first else { return }
        let body = Array(data.dropFirst())
        let cap = first < 0x80 ? Int(first) * 8 : 1 << 16
        streamLine(body, cap: cap)
        stream(body, cap: cap, chunk: Int(first & 15) + 1)
        let answer: HostWire.Answer
        do throws(HostWire.DecodeError) { answer = try HostWire.decodeAnswer(body, maxBytes: cap) } catch {
            if error.reason.isEmpty { fuzzFailure("a refusal without a reason") }
            return
        }
        if body.count > cap { fuzzFailure("accepted \(body.count) bytes over the cap \(cap)") }
        guard case .object(let top)? = try? JSONParser.parse(body) else {
            fuzzFailure("accepted a body the generic reader does not read as an object")
        }
        let canonical: JSONValue
        switch answer {
        case .result(let d, let m):
            if Set(top.keys) != ["data", "metadata"] { fuzzFailure("result with keys \(top.keys)") }
            canonical = .object(JSONObject([("data", d), ("metadata", .object(m))]))
        case .error(let t, let m):
            if top.keys != ["error"] { fuzzFailure("error with keys \(top.keys)") }
            canonical = ["error": ["type": .string(t), "message": .string(m)]]
        }
        let again = canonical.serializedBytes()
        do throws(HostWire.DecodeError) {
            if try HostWire.decodeAnswer(again, maxBytes: again.count) != answer { fuzzFailure("round trip differs") }
        } catch {
            fuzzFailure("canonical re-encoding refused: \(error)")
        }
    }

    static func streamLine(_ line: [UInt8], cap: Int) {
        let decoded: HostWire.StreamLine
        do throws(HostWire.DecodeError) { decoded = try HostWire.decodeStreamLine(line, maxBytes: cap) } catch {
            if error.reason.isEmpty { fuzzFailure("a refused stream line without a reason") }
            return
        }
        if line.count > cap { fuzzFailure("accepted a \(line.count)-byte stream line over the cap \(cap)") }
        guard case .object(let top)? = try? JSONParser.parse(line), top.count == 1 else {
            fuzzFailure("accepted a stream line that is not a one-member object")
        }
        let canonical: JSONValue
        switch decoded {
        case .chunk(let c): canonical = ["chunk": .object(c)]
        case .end: canonical = ["end": true]
        case .error(let t, let m): canonical = ["error": ["type": .string(t), "message": .string(m)]]
        }
        if top.keys != canonical.objectValue?.keys { fuzzFailure("stream line with keys \(top.keys)") }
        let again = canonical.serializedBytes()
        do throws(HostWire.DecodeError) {
            if try HostWire.decodeStreamLine(again, maxBytes: again.count) != decoded {
                fuzzFailure("stream line round trip differs")
            }
        } catch {
            fuzzFailure("canonical stream line refused: \(error)")
        }
    }

    /// The stream body as `HostDriver.executeStream` reads it: framing, then each non-empty line.
    static func stream(_ body: [UInt8], cap: Int, chunk: Int) {
        let pieces = body.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        let firstOver = pieces.firstIndex { $0.count > cap }
        var splitter = LineSplitter(maxLineBytes: cap)
        var lines: [[UInt8]] = []
        var start = 0
        while start < body.count {
            let end = min(start + chunk, body.count)
            do throws(LineSplitter.LineTooLong) {
                lines += try splitter.feed(Array(body[start..<end]))
            } catch {
                guard let bad = firstOver else { fuzzFailure("refused a stream with no piece over \(cap) bytes") }
                if lines.count > bad || lines != Array(pieces.prefix(lines.count)) {
                    fuzzFailure("lines before the refusal are not the body's first pieces")
                }
                return
            }
            start = end
        }
        if firstOver != nil { fuzzFailure("accepted a stream with a piece over \(cap) bytes") }
        if lines != Array(pieces.dropLast()) { fuzzFailure("lines differ from the body's pieces") }
        if splitter.remainder != pieces.last ?? [] { fuzzFailure("remainder is not the piece after the last newline") }
        for line in lines where !line.isEmpty { streamLine(line, cap: cap) }
    }
}
