import AgentKernel

extension HostWire {
    /// One line of an `/v1/execute_stream` answer (docs/drivers.md).
    public enum StreamLine: Sendable, Equatable {
        /// `{"chunk": {...}}`: the object the driver yielded.
        case chunk(JSONObject)
        /// `{"end": true}`: the normal end.
        case end
        /// `{"error": {"type", "message"}}`: the driver raised mid-stream.
        case error(type: String, message: String)
    }

    /// Decodes one stream line strictly: exactly one of the three shapes, nothing else.
    public static func decodeStreamLine(_ line: [UInt8], maxBytes: Int) throws(DecodeError) -> StreamLine {
        guard line.count <= maxBytes else { throw DecodeError("stream line larger than \(maxBytes) bytes") }
        let value: JSONValue
        do throws(JSONParseError) { value = try JSONParser.parse(line, limits: limits(maxBytes: maxBytes)) } catch {
            throw DecodeError("stream line is not valid JSON (\(error))")
        }
        guard case .object(let top) = value, top.count == 1 else {
            throw DecodeError("stream line must be {\"chunk\"}, {\"end\": true} or {\"error\"}")
        }
        if case .object(let chunk)? = top["chunk"] { return .chunk(chunk) }
        if case .bool(true)? = top["end"] { return .end }
        if let err = top["error"], case .error(let type, let message) = try decodeError(err) {
            return .error(type: type, message: message)
        }
        throw DecodeError("stream line must be {\"chunk\"}, {\"end\": true} or {\"error\"}")
    }
}
