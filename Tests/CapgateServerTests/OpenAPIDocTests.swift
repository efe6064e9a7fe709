@testable import AgentKernel
@testable import CapgateWire
import CapgateServer
import Foundation
import Testing

/// docs/openapi.yaml is the contract of the v1 wire; it is written by hand and pinned here to
/// the code, both ways, through the project's own YAML reader:
/// - paths and methods are exactly the verb list (`Verb`) and the stream route
///   (`/v1/invoke_stream`, the invoke body, NDJSON answer), one operation each;
/// - the `ErrorCode` enum is exactly `WireErrorCode`, and each status's error response narrows
///   it to exactly the codes the one status table (`WireErrorCode.status`) maps there;
/// - each verb's request schema names exactly the top-level fields the strict decoder reads,
///   marks required exactly what the decoder requires, and rejects unknown fields as it does;
///   the nested input shapes (request, token, principal) are accepted with every field the
///   document lists and rejected with one it does not.
/// `make test` also drives the live sidecar with the document (tools/openapi/check).
@Suite(.timeLimit(.minutes(1)))
struct OpenAPIDocTests {
    static func document() throws -> JSONValue {
        let text = try String(contentsOfFile: packageRoot + "/docs/openapi.yaml", encoding: .utf8)
        return try #require(try YAMLReader.read(text), "docs/openapi.yaml is empty")
    }

    /// Follows `$ref`s (local only) until a schema that is not one.
    static func resolve(_ v: JSONValue, in doc: JSONValue) throws -> JSONValue {
        var v = v
        while let ref = v["$ref"]?.stringValue {
            let parts = try #require(ref.hasPrefix("#/") ? ref.dropFirst(2).split(separator: "/") : nil, "\(ref)")
            var target = doc
            for p in parts { target = try #require(target[String(p)], "unresolved \(ref)") }
            v = target
        }
        return v
    }

    static func properties(_ schema: JSONValue) -> [String] { schema["properties"]?.objectValue?.keys ?? [] }
    static func required(_ schema: JSONValue) -> [String] { schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] }

    /// The smallest body each verb accepts: its required fields only (nil: no body).
    static func minimalBody(_ verb: Verb) -> JSONObject? {
        let t = "2026-01-02T03:04:05.123456+00:00"
        switch verb {
        case .health: return nil
        case .listCapabilities, .stats, .queryTraces: return [:]
        case .requestCapabilities: return ["goal": "list invoices"]
        case .grantCapability: return ["request": ["capability_id": "c"], "justification": "j"]
        case .explainDenial: return ["request": ["capability_id": "c"]]
        case .invoke, .invokeStream:
            return ["token": ["token_id": "t", "capability_id": "c", "principal_id": "p", "issued_at": .string(t),
                              "expires_at": .string(t)]]
        case .expand: return ["handle_id": "h"]
        case .explain: return ["action_id": "a"]
        case .revoke: return ["token_id": "t"]
        case .revokeAll: return ["principal_id": "p"]
        case .pauseCapability, .resumeCapability: return ["capability_id": "c"]
        case .pausePrincipal, .resumePrincipal: return ["principal_id": "p"]
        case .pauseAll, .resumeAll, .listPaused, .status: return [:]
        }
    }

    static func requestSchema(_ verb: Verb, _ doc: JSONValue) throws -> JSONValue? {
        let op = try #require(doc["paths"]?[verb.path]?[verb.method.lowercased()], "\(verb.path)")
        guard let body = op["requestBody"] else { return nil }
        #expect(body["required"]?.boolValue == true, "\(verb.rawValue): the body is required")
        return try resolve(try #require(body["content"]?["application/json"]?["schema"], "\(verb.rawValue)"), in: doc)
    }

    static func decode(_ verb: Verb, _ body: JSONObject) -> (Result<WireRequest, WireError>, [String]) {
        var fields: [String] = []
        do throws(WireError) {
            return (.success(try WireRequest.decode(verb, value: .object(body), fieldsRead: &fields)), fields)
        } catch { return (.failure(error), fields) }
    }

    @Test func pathsAndMethodsAreTheVerbList() throws {
        let doc = try Self.document()
        #expect(doc["openapi"]?.stringValue == "3.1.0")
        let paths = try #require(doc["paths"]?.objectValue)
        #expect(Set(paths.keys) == Set(Verb.allCases.map(\.path)), "one path per verb, no other")
        let stream = try #require(paths[Verb.invokeStream.path]?.objectValue)
        #expect(stream.keys == ["post"])
        #expect(stream["post"]?["operationId"]?.stringValue == "invoke_stream")
        let streamOK = try #require(stream["post"]?["responses"]?["200"]?["content"]?.objectValue)
        #expect(streamOK.keys == [Verb.invokeStream.declaration.responseContentType])
        for verb in Verb.allCases {
            let item = try #require(paths[verb.path]?.objectValue, "\(verb.path)")
            #expect(item.keys == [verb.method.lowercased()], "\(verb.path) answers \(verb.method) only")
            #expect(item[verb.method.lowercased()]?["operationId"]?.stringValue == verb.rawValue)
        }
        #expect(doc["components"]?["securitySchemes"]?["mutualTLS"]?["type"]?.stringValue == "mutualTLS")
        #expect(doc["security"] == [["mutualTLS": []]])
    }

    @Test func errorCodesAndStatusesAreTheStatusTable() throws {
        let doc = try Self.document()
        let codes = try #require(doc["components"]?["schemas"]?["ErrorCode"]?["enum"]?.arrayValue)
        #expect(codes.compactMap(\.stringValue) == WireErrorCode.allCases.map(\.rawValue), "the ErrorCode enum")
        let responses = try #require(doc["components"]?["responses"]?.objectValue)
        let statuses = Set(WireErrorCode.allCases.map(\.status))
        #expect(Set(responses.keys) == Set(statuses.map { "Error\($0)" }), "one error response per status")
        for status in statuses {
            let schema = try #require(responses["Error\(status)"]?["content"]?["application/json"]?["schema"])
            let parts = try #require(schema["allOf"]?.arrayValue)
            #expect(parts.first?["$ref"]?.stringValue == "#/components/schemas/ErrorEnvelope")
            let narrowed = parts.last?["properties"]?["error"]?["properties"]?["code"]?["enum"]?.arrayValue ?? []
            #expect(Set(narrowed.compactMap(\.stringValue))
                        == Set(WireErrorCode.allCases.filter { $0.status == status }.map(\.rawValue)),
                    "Error\(status) lists exactly the codes the table maps to \(status)")
        }
        // The envelope is the one WireError.json writes.
        let envelope = try Self.resolve(["$ref": "#/components/schemas/ErrorEnvelope"], in: doc)
        let inner = try #require(envelope["properties"]?["error"])
        let written = try #require(WireError(.forbidden, "m").json["error"]?.objectValue)
        #expect(Self.properties(inner) == written.keys)
        #expect(Set(Self.required(inner)) == Set(written.keys))
        // Every operation's non-200 answers are the per-status error responses.
        for (path, item) in try #require(doc["paths"]?.objectValue) {
            for (method, operation) in try #require(item.objectValue) {
                let op = try #require(operation["responses"]?.objectValue, "\(method) \(path)")
                #expect(op.keys.contains("200"), "\(path)")
                for (status, r) in op where status != "200" {
                    #expect(r["$ref"]?.stringValue == "#/components/responses/Error\(status)", "\(path) \(status)")
                    #expect(Int(status).map(statuses.contains) == true, "\(path) \(status): not in the table")
                }
            }
        }
    }

    @Test func requestFieldsAreTheDecoders() throws {
        let doc = try Self.document()
        for verb in Verb.allCases {
            let schema = try Self.requestSchema(verb, doc)
            guard let minimal = Self.minimalBody(verb) else {
                #expect(schema == nil, "\(verb.rawValue) reads no body")
                continue
            }
            let s = try #require(schema, "\(verb.rawValue) has a body")
            #expect(s["additionalProperties"] == .bool(false), "\(verb.rawValue): the decoder rejects unknown fields")
            let (result, read) = Self.decode(verb, minimal)
            if case .failure(let e) = result { Issue.record("\(verb.rawValue): minimal body refused: \(e)") }
            #expect(Set(read) == Set(Self.properties(s)), "\(verb.rawValue): document fields vs decoder fields")
            // expand needs exactly one of handle_id and handle: neither is required on its own.
            let decoderRequired = verb == .expand ? [] : Set(minimal.keys)
            #expect(Set(Self.required(s)) == decoderRequired, "\(verb.rawValue): required fields")
            // Each required field is required by the decoder.
            for field in minimal.keys {
                var body = minimal
                body[field] = nil
                guard case .failure(let e) = Self.decode(verb, body).0 else {
                    Issue.record("\(verb.rawValue): accepted without \(field)")
                    continue
                }
                #expect(e.code == .invalidRequest && e.message.hasPrefix("\(field):"), "\(verb.rawValue): \(e)")
            }
            // Every optional field may be null; an unknown one is refused.
            var full = minimal
            for p in Self.properties(s) where full[p] == nil { full[p] = .null }
            if case .failure(let e) = Self.decode(verb, full).0 { Issue.record("\(verb.rawValue): all-null body: \(e)") }
            full["unknown_field"] = 1
            guard case .failure(let e) = Self.decode(verb, full).0 else {
                Issue.record("\(verb.rawValue): unknown field accepted")
                continue
            }
            #expect(e.message.hasPrefix("unknown_field:"), "\(verb.rawValue): \(e)")
        }
    }

    /// `/v1/invoke_stream` decodes the invoke body (then refuses a dry run): its schema lists
    /// exactly the fields the invoke decoder reads, requires what it requires, and closes.
    @Test func streamRequestIsTheInvokeBody() throws {
        let doc = try Self.document()
        let op = try #require(doc["paths"]?[Verb.invokeStream.path]?["post"])
        let s = try Self.resolve(try #require(op["requestBody"]?["content"]?["application/json"]?["schema"]), in: doc)
        let invoke = try #require(try Self.requestSchema(.invoke, doc))
        let (result, read) = Self.decode(.invoke, Self.minimalBody(.invoke)!)
        if case .failure(let e) = result { Issue.record("\(e)") }
        #expect(Set(Self.properties(s)) == Set(read))
        #expect(Set(Self.required(s)) == Set(Self.required(invoke)))
        #expect(s["additionalProperties"] == .bool(false))
        #expect(s["properties"]?["dry_run"]?["enum"] == [false, nil], "a stream has no dry run")
    }

    /// The nested input shapes: every field the document lists is accepted (null when
    /// optional), an unlisted one is refused, and each required one is required.
    @Test func nestedInputShapesAreTheDecoders() throws {
        let doc = try Self.document()
        let cases: [(Verb, String, String)] = [
            (.grantCapability, "request", "CapabilityRequestInput"), (.explainDenial, "request", "CapabilityRequestInput"),
            (.invoke, "token", "TokenInput"), (.grantCapability, "principal", "PrincipalClaim"),
            (.invoke, "principal", "PrincipalClaim"), (.expand, "principal", "PrincipalClaim"),
            (.explainDenial, "principal", "PrincipalClaim"),
        ]
        for (verb, field, name) in cases {
            let s = try Self.resolve(["$ref": .string("#/components/schemas/\(name)")], in: doc)
            let top = try #require(try Self.requestSchema(verb, doc))
            // `{"$ref": X}`, or `{"oneOf": [{"$ref": X}, {"type": "null"}]}` when the field may be null.
            let prop = top["properties"]?[field]
            let ref = prop?["$ref"] ?? prop?["oneOf"]?.arrayValue?.first?["$ref"]
            #expect(ref?.stringValue == "#/components/schemas/\(name)", "\(verb.rawValue).\(field)")
            #expect(s["additionalProperties"] == .bool(false), "\(name)")
            var nested = Self.minimalBody(verb)?[field]?.objectValue ?? ["principal_id": "p"]
            #expect(Set(Self.required(s)) == Set(nested.keys), "\(name): required fields")
            for p in Self.properties(s) where nested[p] == nil { nested[p] = .null }
            var body = try #require(Self.minimalBody(verb))
            body[field] = .object(nested)
            if case .failure(let e) = Self.decode(verb, body).0 {
                // A principal claim other than the test's own principal is refused later, by the server.
                Issue.record("\(verb.rawValue).\(field): all-documented-fields body refused: \(e)")
            }
            for r in Self.required(s) {
                var n = nested
                n[r] = nil
                body[field] = .object(n)
                guard case .failure(let e) = Self.decode(verb, body).0 else {
                    Issue.record("\(verb.rawValue).\(field): accepted without \(r)")
                    continue
                }
                #expect(e.message.hasPrefix("\(field).\(r):"), "\(e)")
            }
            nested["unknown_field"] = 1
            body[field] = .object(nested)
            guard case .failure(let e) = Self.decode(verb, body).0 else {
                Issue.record("\(verb.rawValue).\(field): unknown field accepted")
                continue
            }
            #expect(e.message.hasPrefix("\(field).unknown_field:"), "\(e)")
        }
    }

    /// Enumerations the decoder checks are the document's.
    @Test func requestEnumsAreTheDecoders() throws {
        let doc = try Self.document()
        func values(_ verb: Verb, _ field: String) throws -> Set<String> {
            let s = try #require(try Self.requestSchema(verb, doc))
            // A nullable enum is `{"oneOf": [{"$ref": <enum>}, {"type": "null"}]}`.
            let prop = try #require(s["properties"]?[field], "\(verb.rawValue).\(field)")
            let e = try Self.resolve(prop["oneOf"]?.arrayValue?.first ?? prop, in: doc)
            return Set(e["enum"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        }
        func accepted(_ verb: Verb, _ field: String, _ candidates: [String]) -> Set<String> {
            Set(candidates.filter { c in
                var b = Self.minimalBody(verb)!
                b[field] = .string(c)
                if case .success = Self.decode(verb, b).0 { return true }
                return false
            })
        }
        let modes = try values(.invoke, "response_mode")
        #expect(modes == ["summary", "table", "handle_only", "raw"])
        #expect(accepted(.invoke, "response_mode", Array(modes) + ["other", "RAW", ""]) == modes)
        let events = try values(.queryTraces, "event_type")
        #expect(events == Set(TraceEventType.allCases.map(\.rawValue)))
        #expect(accepted(.queryTraces, "event_type", Array(events) + ["other"]) == events)
        let outcomes = try values(.queryTraces, "outcome")
        #expect(outcomes == ["succeeded", "failed"])
        #expect(accepted(.queryTraces, "outcome", Array(outcomes) + ["other", "ok"]) == outcomes)
        let schemas = try #require(doc["components"]?["schemas"])
        #expect(Set(schemas["SafetyClass"]?["enum"]?.arrayValue?.compactMap(\.stringValue) ?? [])
                    == Set(SafetyClass.allCases.map(\.rawValue)))
        #expect(Set(schemas["SensitivityTag"]?["enum"]?.arrayValue?.compactMap(\.stringValue) ?? [])
                    == Set(SensitivityTag.allCases.map(\.rawValue)))
    }
}
