import AgentKernel

/// The driver-host protocol's bodies (docs/drivers.md), sans-IO so the fuzzer and the tests
/// reach the decoder without a network.
public enum HostWire {
    /// What a host answered to `/v1/execute` (or a terminal stream line's error).
    public enum Answer: Sendable, Equatable {
        /// The driver's RawResult.
        case result(data: JSONValue, metadata: JSONObject)
        /// The driver raised: the Python class name and `str(exc)`, unchanged.
        case error(type: String, message: String)
    }

    /// Why an answer was refused (the text goes into the DriverError message).
    public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
        public let reason: String
        public init(_ reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    /// The request body of `/v1/execute` and `/v1/execute_stream`: the reference's
    /// `ExecutionContext` plus the driver id and the resolved operation, keys in this order.
    public static func requestBody(driverID: String, context ctx: ExecutionContext) -> [UInt8] {
        let context = JSONObject([
            ("capability_id", .string(ctx.capabilityID)), ("principal_id", .string(ctx.principalID)),
            ("args", .object(ctx.args)), ("constraints", .object(ctx.constraints)),
            ("action_id", .string(ctx.actionID)),
        ])
        return JSONValue.object(JSONObject([
            ("driver_id", .string(driverID)), ("operation", .string(ctx.operation)), ("context", .object(context)),
        ])).serializedBytes()
    }

    /// Parser bounds for answers: the body itself is already capped by `max_response_bytes`
    /// before it reaches here; depth stays the project default so a legitimate nested result
    /// decodes as it would in process.
    static func limits(maxBytes: Int) -> JSONParser.Limits {
        JSONParser.Limits(maxStringBytes: max(maxBytes, 0), maxMembers: max(maxBytes, 1),
                          maxTotalValues: max(maxBytes, 1))
    }

    /// Decodes a `/v1/execute` answer body strictly: exactly `{"data", "metadata"}` with an
    /// object `metadata`, or exactly `{"error": {"type", "message"}}` with string members.
    /// Anything else (other keys, missing keys, invalid JSON, a body over `maxBytes`) is refused.
    public static func decodeAnswer(_ body: [UInt8], maxBytes: Int) throws(DecodeError) -> Answer {
        guard body.count <= maxBytes else { throw DecodeError("answer larger than \(maxBytes) bytes") }
        let value: JSONValue
        do throws(JSONParseError) { value = try JSONParser.parse(body, limits: limits(maxBytes: maxBytes)) } catch {
            throw DecodeError("answer is not valid JSON (\(error))")
        }
        guard case .object(let top) = value else { throw DecodeError("answer is not a JSON object") }
        if top.count == 1, let err = top["error"] { return try decodeError(err) }
        guard top.count == 2, let data = top["data"], let meta = top["metadata"] else {
            throw DecodeError("answer must be {\"data\", \"metadata\"} or {\"error\"}")
        }
        guard case .object(let metadata) = meta else { throw DecodeError("answer metadata is not an object") }
        return .result(data: data, metadata: metadata)
    }

    /// `{"type": str, "message": str}`, nothing else.
    static func decodeError(_ value: JSONValue) throws(DecodeError) -> Answer {
        guard case .object(let e) = value, e.count == 2, case .string(let type)? = e["type"],
              case .string(let message)? = e["message"] else {
            throw DecodeError("error answer must be {\"type\": str, \"message\": str}")
        }
        return .error(type: type, message: message)
    }
}
