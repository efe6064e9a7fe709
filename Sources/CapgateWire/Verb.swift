/// THE verb list of the v1 wire: `POST /v1/<verb>`, plus `GET /v1/health`. Each verb is
/// declared once, here (its name) and in `declaration` below (method, role, body, answer);
/// everything else derives from it:
/// - routing (`Verb.route`) and the method check of `KernelService`;
/// - the per-route request body caps the server hands the transport (`path` + the verb's entry
///   in `GatewayLimits.maxBodyBytesPerVerb`, else `defaultMaxBodyBytes`: the cap VALUES live in
///   the one limits type, docs/limits.md);
/// - the role gate of `KernelService` (`VerbRole.admin`);
/// - the method and path `CapgateClient` sends;
/// - the verb table of docs/design.md §2 (a test renders the table from `declaration` and
///   compares it with the doc, both ways).
/// - the paths of docs/openapi.yaml, the wire's machine-readable contract (`OpenAPIDocTests`
///   pins its paths, methods and request fields to this list and the decoder, both ways).
///
/// The typed shapes are declared next to it, one per verb, in files the compiler keeps in
/// step with this list: the request is a `WireRequest` case (decoded by
/// `WireRequest.decode`, an exhaustive switch over `Verb`), the Swift signature with its
/// response type is a `KernelAPI` requirement (AgentKernel), and the server's dispatch
/// (`KernelService.execute`) is an exhaustive switch over `WireRequest`.
///
/// Adding a verb: add the case and its `declaration` here; the compiler then names every
/// switch that must handle it (decode, dispatch), and `KernelAPI` gets the method that
/// `LocalKernelAPI` and `CapgateClient` implement. A streaming verb (`invoke_stream`) is
/// declared the same way: its `declaration` names the request body and, as `response`, the
/// stream of frames it answers with, and its `responseContentType` is the stream's media
/// type; what changes is only its dispatch, which answers with a body written in parts
/// instead of one serialized value.
///
/// New cases go at the END: the fuzz target `wire_request` picks a verb by its index in
/// `allCases`, so the order gives the committed seeds their meaning.
public enum Verb: String, Sendable, CaseIterable {
    case listCapabilities = "list_capabilities"
    case requestCapabilities = "request_capabilities"
    case grantCapability = "grant_capability"
    case invoke
    case expand
    case explain
    case explainDenial = "explain_denial"
    case revoke
    case revokeAll = "revoke_all"
    case queryTraces = "query_traces"
    case stats
    case health
    case invokeStream = "invoke_stream"
    // Operations (docs/operations.md): the kill switches and the status report, admin only.
    case pauseCapability = "pause_capability"
    case pausePrincipal = "pause_principal"
    case pauseAll = "pause_all"
    case resumeCapability = "resume_capability"
    case resumePrincipal = "resume_principal"
    case resumeAll = "resume_all"
    case listPaused = "list_paused"
    case status

    /// What each verb is on the wire. Request and response texts are the ones docs/design.md
    /// §2 shows (pinned by `VerbTableDocTests`).
    public var declaration: VerbDeclaration {
        switch self {
        case .listCapabilities:
            VerbDeclaration(request: "`{}`", response: "`[Capability]` in registration order")
        case .requestCapabilities:
            VerbDeclaration(request: "`{\"goal\", \"context_tags\"?}` (`context_tags` ignored, as in the reference)",
                            response: "`[CapabilityRequest]`")
        case .grantCapability:
            VerbDeclaration(request: "`{\"request\": CapabilityRequest, \"justification\", \"principal\"?}`",
                            response: "`CapabilityGrant` `{request, principal, decision, token, audit_id}` with "
                                + "`principal` as the server resolved it")
        case .invoke:
            VerbDeclaration(request: "`{\"token\", \"args\"?, \"response_mode\"? = \"summary\", \"dry_run\"? = false, "
                                + "\"principal\"?}`",
                            response: "`Frame` (full: `raw_data`, `provenance`, `is_final`, whole `handle`), or "
                                + "`DryRunResult` when `dry_run`")
        case .expand:
            VerbDeclaration(request: "`{\"handle_id\" \\| \"handle\", \"query\"? = {}, \"principal\"?}`",
                            response: "`Frame` (`response_mode` `table`)")
        case .explain:
            VerbDeclaration(request: "`{\"action_id\"}`", response: "`ActionTrace`")
        case .explainDenial:
            VerbDeclaration(request: "`{\"request\", \"justification\"? = \"\", \"principal\"?}`",
                            response: "`DenialExplanation`")
        case .queryTraces:
            VerbDeclaration(request: "`TraceQuery` fields, all optional", response: "`[ActionTrace]`")
        case .revoke:
            VerbDeclaration(role: .admin, request: "`{\"token_id\"}`", response: "`{\"revoked\": true}`")
        case .revokeAll:
            VerbDeclaration(role: .admin, request: "`{\"principal_id\"}`",
                            response: "`{\"revoked\": N}` (tokens newly revoked)")
        case .stats:
            VerbDeclaration(request: "`{}`", response: "`StatsSnapshot`")
        case .health:
            VerbDeclaration(method: "GET", role: .anyone, request: "none", response: "`{\"status\": \"ok\"}`")
        case .invokeStream:
            VerbDeclaration(request: "`{\"token\", \"args\"?, \"response_mode\"? = \"summary\", \"principal\"?}` (the "
                                + "`invoke` body without a dry run: `\"dry_run\": true` is `invalid_request`)",
                            response: "`Frame`s as newline-delimited JSON (`application/x-ndjson`), the last with "
                                + "`is_final`; an error before the first frame is the v1 envelope, after it a final "
                                + "`{\"error\": ...}` line (§5)",
                            responseContentType: "application/x-ndjson")
        case .pauseCapability:
            VerbDeclaration(role: .admin, request: "`{\"capability_id\", \"reason\"? = \"\"}`",
                            response: "`Paused` (every paused item after the change)")
        case .pausePrincipal:
            VerbDeclaration(role: .admin, request: "`{\"principal_id\", \"reason\"? = \"\"}` (not the caller's own)",
                            response: "`Paused`")
        case .pauseAll:
            VerbDeclaration(role: .admin, request: "`{\"reason\"? = \"\"}`", response: "`Paused`")
        case .resumeCapability:
            VerbDeclaration(role: .admin, request: "`{\"capability_id\"}`", response: "`Paused`")
        case .resumePrincipal:
            VerbDeclaration(role: .admin, request: "`{\"principal_id\"}`", response: "`Paused`")
        case .resumeAll:
            VerbDeclaration(role: .admin, request: "`{}`", response: "`Paused`")
        case .listPaused:
            VerbDeclaration(role: .admin, request: "`{}`", response: "`Paused` `{all, capabilities, principals}`")
        case .status:
            VerbDeclaration(role: .admin, request: "`{}`",
                            response: "`Status`: uptime, connections, config generation, certificate expiries, "
                                + "paused items, store health")
        }
    }

    /// The HTTP method the verb answers to.
    public var method: String { declaration.method }

    /// Who may call it.
    public var role: VerbRole { declaration.role }

    public var path: String { "/v1/" + rawValue }

    /// Routes a request path. Query strings are not part of the v1 surface and make the
    /// path unknown rather than being silently ignored. The server derives the transport's
    /// per-route body caps from `path`, so the caps follow exactly this rule.
    ///
    /// One hash look-up of the whole path: the synthesized `init(rawValue:)` compared the name
    /// with each case's in turn, once per request or more. The same answers: `String`'s `==`
    /// and its hash both follow canonical equivalence, as the prefix test and the raw-value
    /// comparison did.
    public static func route(path: String) -> Verb? { byPath[path] }

    private static let byPath: [String: Verb] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.path, $0) })
}

/// Who may call a verb. Checked by the server after routing and decoding, before the kernel.
public enum VerbRole: Sendable, Equatable {
    /// No identity needed, no body read (liveness).
    case anyone
    /// Any certificate-bound principal; the kernel's policy decides the rest.
    case principal
    /// A principal with the `admin` role (`forbidden` otherwise).
    case admin
}

/// One verb's declaration: method, role, and the request body and 200 answer as documented.
public struct VerbDeclaration: Sendable, Equatable {
    public var method: String
    public var role: VerbRole
    /// The request body (docs/design.md §2 "Body" column, without the role note).
    public var request: String
    /// The 200 answer (docs/design.md §2 "Response (200)" column).
    public var response: String
    /// The media type of the 200 answer: one JSON value, or a stream of JSON lines
    /// (`application/x-ndjson`, written as the kernel produces them). Errors are always the
    /// JSON envelope (docs/errors.md).
    public var responseContentType: String

    public init(method: String = "POST", role: VerbRole = .principal, request: String, response: String,
                responseContentType: String = "application/json") {
        self.method = method
        self.role = role
        self.request = request
        self.response = response
        self.responseContentType = responseContentType
    }

    /// Whether the 200 answer is a stream of lines rather than one JSON value.
    public var isStreamed: Bool { responseContentType != "application/json" }

    /// The verb's row of docs/design.md §2's table: `(GET)` after a non-POST verb's name,
    /// `(admin)` after an admin verb's body.
    public func docRow(_ verb: Verb) -> String {
        let name = "`\(verb.rawValue)`" + (method == "POST" ? "" : " (\(method))")
        let body = request + (role == .admin ? " (admin)" : "")
        return "| \(name) | \(body) | \(response) |"
    }
}
