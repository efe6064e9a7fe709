@testable import AgentKernel
import Foundation

extension ScenarioRunner {
    /// Runs every step and returns the normalized results, one per step.
    mutating func runAll() async throws -> [JSONValue] {
        var results: [JSONValue] = []
        for raw in scenario["steps"]?.arrayValue ?? [] {
            let step = try resolve(raw)
            let op = step["op"]?.stringValue ?? ""
            do {
                let out = try await perform(op, step)
                if let name = step["save"]?.stringValue { saved[name] = out }
                let keep = op == "sign_fields"
                results.append(["ok": keep ? out : normalizer.normalize(out)])
            } catch let e as KernelError {
                results.append(["error": normalizer.normalize(.object(JSONObject([
                    ("type", .string(e.type)), ("reason_code", e.reasonCode.map(JSONValue.string) ?? .null),
                    ("message", .string(e.message)),
                ])))])
            }
        }
        return results
    }

    func principal(_ v: JSONValue?) throws -> Principal? {
        guard let v, !v.isNull else { return nil }
        return try Principal(json: v)
    }

    func perform(_ op: String, _ s: JSONValue) async throws -> JSONValue {
        switch op {
        case "request_capabilities":
            return .array(kernel.requestCapabilities(goal: s["goal"]?.stringValue ?? "").map(\.json))
        case "list_capabilities":
            return .array(kernel.listCapabilities().map(\.json))
        case "grant":
            return try kernel.grantCapability(try CapabilityRequest(json: s["request"] ?? .null),
                                              principal: try principal(s["principal"])!,
                                              justification: s["justification"]?.stringValue ?? "").json
        case "explain_denial":
            return try kernel.explainDenial(try CapabilityRequest(json: s["request"] ?? .null),
                                            principal: try principal(s["principal"])!,
                                            justification: s["justification"]?.stringValue ?? "").json
        case "invoke":
            let token = try CapabilityToken(json: s["token"] ?? .null)
            return try await kernel.invoke(token, principal: try principal(s["principal"])!,
                                           args: s["args"]?.objectValue ?? [:],
                                           responseMode: ResponseMode(s["response_mode"]?.stringValue ?? "summary"),
                                           dryRun: s["dry_run"]?.boolValue ?? false).json
        case "expand":
            let handleID = s["handle"]?["handle_id"]?.stringValue ?? ""
            return try kernel.expand(handleID: handleID, query: s["query"]?.objectValue ?? [:],
                                     principal: try principal(s["principal"])).json
        case "explain":
            return try kernel.explain(actionID: s["action_id"]?.stringValue ?? "").json
        case "list_traces":
            return .array(kernel.listTraces().map(\.json))
        case "query_traces":
            return .array(try kernel.queryTraces(try traceQuery(s["query"]?.objectValue ?? [:])).map(\.json))
        case "stats":
            return kernel.statsSnapshot().json
        case "revoke":
            kernel.revoke(tokenID: s["token_id"]?.stringValue ?? "")
            return .null
        case "revoke_all":
            return .int(kernel.revokeAll(principalID: s["principal_id"]?.stringValue ?? ""))
        case "issue_token":
            let ttl = s["ttl_seconds"].flatMap { $0.doubleValue ?? $0.intValue.map(Double.init) } ?? 3600
            return tokens.issue(capabilityID: s["capability_id"]?.stringValue ?? "",
                                principalID: s["principal_id"]?.stringValue ?? "",
                                constraints: s["constraints"]?.objectValue ?? [:], ttlSeconds: ttl,
                                auditID: s["audit_id"]?.stringValue ?? "").json
        case "tamper_token", "patch":
            var t = (op == "patch" ? s["value"] : s["token"])?.objectValue ?? [:]
            for (k, v) in s["set"]?.objectValue ?? [:] { t[k] = v }
            return .object(t)
        case "load_policy":
            _ = try ScenarioRunner.loadPolicy(s)
            return .null
        case "verify_token":
            let token = try CapabilityToken(json: s["token"] ?? .null)
            try tokens.verify(token, expectedPrincipalID: s["expected_principal_id"]?.stringValue ?? "",
                              expectedCapabilityID: s["expected_capability_id"]?.stringValue ?? "")
            return .null
        case "sign_fields":
            var fields = s["fields"]?.objectValue ?? [:]
            fields["signature"] = ""
            let token = try CapabilityToken(json: .object(fields))
            let provider = HMACTokenProvider(secret: s["secret"]?.stringValue ?? "")
            let canonical = String(decoding: HMACTokenProvider.signingPayload(token), as: UTF8.self)
            return ["canonical": .string(canonical), "signature": .string(provider.sign(token))]
        case "redact":
            let allowed = s["allowed_fields"]?.arrayValue?.compactMap(\.stringValue)
            let (data, warnings) = Redaction.redact(s["data"] ?? .null, allowedFields: allowed,
                                                    maxDepth: s["max_depth"]?.intValue ?? 3)
            return ["data": data, "warnings": .array(warnings.map(JSONValue.string))]
        case "summarize":
            return .array(Summarizer.summarize(s["data"] ?? .null, maxFacts: s["max_facts"]?.intValue ?? 20)
                .map(JSONValue.string))
        case "transform":
            var budgets = Budgets()
            if let b = s["budgets"]?.objectValue {
                if let v = b["max_rows"]?.intValue { budgets.maxRows = v }
                if let v = b["max_fields"]?.intValue { budgets.maxFields = v }
                if let v = b["max_chars"]?.intValue { budgets.maxChars = v }
                if let v = b["max_depth"]?.intValue { budgets.maxDepth = v }
            }
            let raw = RawResult(capabilityID: "test.cap", data: s["data"] ?? .null)
            return try Firewall(budgets: budgets).transform(
                raw, actionID: "act-1", principalID: "p1",
                principalRoles: s["roles"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                responseMode: ResponseMode(s["response_mode"]?.stringValue ?? "summary"),
                constraints: s["constraints"]?.objectValue ?? [:], handle: nil, now: SystemClock().now()).json
        case "sleep":
            let seconds = s["seconds"]?.doubleValue ?? Double(s["seconds"]?.intValue ?? 0)
            try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            return .null
        default:
            throw SetupError(description: "unknown op \(op)")
        }
    }

    func traceQuery(_ q: JSONObject) throws -> TraceQuery {
        func time(_ k: String) -> Timestamp? { q[k]?.stringValue.flatMap { Timestamp(isoformat: $0) } }
        return TraceQuery(principalID: q["principal_id"]?.stringValue, capabilityID: q["capability_id"]?.stringValue,
                          eventType: q["event_type"]?.stringValue.flatMap(TraceEventType.init(rawValue:)),
                          outcome: q["outcome"]?.stringValue, reasonCode: q["reason_code"]?.stringValue,
                          since: time("since"), until: time("until"), limit: q["limit"]?.intValue,
                          offset: q["offset"]?.intValue ?? 0)
    }
}
