import AgentKernel
import CapgateDrivers

/// Target: the driver-host answer reader (`HostWire.decodeAnswer`), which parses bytes a
/// separate process sends the sidecar (docs/drivers.md). The first byte picks the size cap
/// (so the cap's edge is fuzzed too); the rest is the body.
///
/// Invariants: an accepted body is within the cap and is exactly one of the two shapes when
/// read by the generic JSON reader; re-encoding the answer in its canonical shape decodes to
/// the same answer. The same bytes also go through the `/v1/execute_stream` line reader
/// (`HostWire.decodeStreamLine`) with the same invariants for its three shapes.
enum FuzzHostAnswer {
    static func run(_ data: UnsafeRawBufferPointer) {
        guard let first = data.first else { return }
        let body = Array(data.dropFirst())
        let cap = first < 0x80 ? Int(first) * 8 : 1 << 16
        streamLine(body, cap: cap)
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
}
