import AgentKernel
import CapgateHTTPClient
import CapgateTLS
import CapgateWire

/// The typed Swift client of the v1 wire: one call per verb over one multiplexed mTLS
/// HTTP/2 connection. Errors come back as `CapgateClientError` carrying the wire envelope
/// (`type` is the reference's exception class, `code` the stable wire code).
///
/// It is a `KernelAPI` (CapgateClient+KernelAPI.swift), so anything written against
/// "a kernel" (the conformance suite among it) runs over the network unchanged. Each call is
/// a `WireRequest` (the type the server decodes): its verb gives method and path (the verb
/// list, `Verb.declaration`), its `body` the JSON sent.
public final class CapgateClient: Sendable {
    public let connection: HTTPClientConnection

    /// Connects with the agent's certificate and key, trusting `trustBundle` for the server.
    public init(host: String, port: UInt16, certificate: String, key: String, trustBundle: String,
                serverName: String = "localhost") throws {
        let tls = try TLSContext.client(certificate: certificate, key: key, trustBundle: trustBundle,
                                        serverName: serverName)
        connection = try HTTPClientConnection(host: host, port: port, tls: tls)
    }

    public init(connection: HTTPClientConnection) { self.connection = connection }

    public func close() { connection.close() }

    /// One verb call: the request's verb gives method and path, the request its body (the
    /// same `WireRequest` the server decodes); decode the answer or throw the error envelope.
    public func call(_ request: WireRequest) async throws -> JSONValue {
        let verb = request.verb
        let bytes = request.body.isNull ? [] : request.body.serializedBytes()
        let response: HTTPClientResponse
        do {
            response = try await connection.send(method: verb.method, path: verb.path,
                                                  headers: [(name: "content-type", value: "application/json")],
                                                  body: bytes)
        } catch {
            throw CapgateClientError.transport(String(describing: error))
        }
        let value: JSONValue
        do { value = try JSONParser.parse(response.body) } catch {
            throw CapgateClientError.badResponse(status: response.status, "response is not JSON: \(error)")
        }
        guard response.status == 200 else {
            guard let e = value["error"], let code = e["code"]?.stringValue else {
                throw CapgateClientError.badResponse(status: response.status, "error without an envelope")
            }
            throw CapgateClientError.server(status: response.status, type: e["type"]?.stringValue ?? "AgentKernelError",
                                            code: code, reasonCode: e["reason_code"]?.stringValue,
                                            message: e["message"]?.stringValue ?? "")
        }
        return value
    }

    func decode<T: JSONDecodableModel>(_ v: JSONValue, as: T.Type) throws -> T {
        do { return try T(json: v) } catch { throw CapgateClientError.badResponse(status: 200, error.description) }
    }

    func decodeList<T: JSONDecodableModel>(_ v: JSONValue, as: T.Type) throws -> [T] {
        guard case .array(let a) = v else { throw CapgateClientError.badResponse(status: 200, "expected a list") }
        return try a.map { try decode($0, as: T.self) }
    }

    // MARK: verbs

    // The methods whose signature matches `KernelAPI` exactly implement it; the ones with a
    // `principal:` argument are in CapgateClient+KernelAPI.swift.

    public func listCapabilities() async throws -> [Capability] {
        try decodeList(try await call(.listCapabilities), as: Capability.self)
    }

    public func requestCapabilities(goal: String) async throws -> [CapabilityRequest] {
        try decodeList(try await call(.requestCapabilities(goal: goal)), as: CapabilityRequest.self)
    }

    public func grantCapability(_ request: CapabilityRequest, justification: String, principalID: String? = nil)
        async throws -> CapabilityGrant
    {
        try decode(try await call(.grantCapability(request: request, justification: justification,
                                                   claimedPrincipalID: principalID)), as: CapabilityGrant.self)
    }

    public func invoke(_ token: CapabilityToken, args: JSONObject = [:], responseMode: ResponseMode = .summary,
                       dryRun: Bool = false, principalID: String? = nil) async throws -> InvokeResult {
        let v = try await call(.invoke(token: token, args: args, responseMode: responseMode, dryRun: dryRun,
                                       claimedPrincipalID: principalID))
        do { return try InvokeResult(json: v) } catch { throw CapgateClientError.badResponse(status: 200, error.description) }
    }

    public func expand(handleID: String, query: JSONObject = [:], principalID: String? = nil) async throws -> Frame {
        try decode(try await call(.expand(handleID: handleID, query: query, claimedPrincipalID: principalID)),
                   as: Frame.self)
    }

    public func explain(actionID: String) async throws -> ActionTrace {
        try decode(try await call(.explain(actionID: actionID)), as: ActionTrace.self)
    }

    public func explainDenial(_ request: CapabilityRequest, justification: String = "") async throws -> DenialExplanation {
        try decode(try await call(.explainDenial(request: request, justification: justification, claimedPrincipalID: nil)),
                   as: DenialExplanation.self)
    }

    public func queryTraces(_ query: TraceQuery) async throws -> [ActionTrace] {
        try decodeList(try await call(.queryTraces(query)), as: ActionTrace.self)
    }

    public func revoke(tokenID: String) async throws {
        _ = try await call(.revoke(tokenID: tokenID))
    }

    public func revokeAll(principalID: String) async throws -> Int {
        try await call(.revokeAll(principalID: principalID))["revoked"]?.intValue ?? 0
    }

    public func stats() async throws -> StatsSnapshot {
        try decode(try await call(.stats), as: StatsSnapshot.self)
    }

    public func health() async throws -> Bool {
        try await call(.health)["status"]?.stringValue == "ok"
    }
}

/// A failed call: the server's error envelope, or a transport/decoding problem.
public enum CapgateClientError: Error, Sendable, CustomStringConvertible {
    case server(status: Int, type: String, code: String, reasonCode: String?, message: String)
    case transport(String)
    case badResponse(status: Int, String)

    public var description: String {
        switch self {
        case .server(let s, let t, let c, let r, let m): return "\(s) \(c) (\(t)\(r.map { ", " + $0 } ?? "")): \(m)"
        case .transport(let m): return "transport: \(m)"
        case .badResponse(let s, let m): return "bad response (\(s)): \(m)"
        }
    }

    /// The wire code, for server errors.
    public var code: String? { if case .server(_, _, let c, _, _) = self { return c } else { return nil } }
    public var status: Int? { if case .server(let s, _, _, _, _) = self { return s } else { return nil } }
    public var reasonCode: String? { if case .server(_, _, _, let r, _) = self { return r } else { return nil } }
    public var type: String? { if case .server(_, let t, _, _, _) = self { return t } else { return nil } }
}
