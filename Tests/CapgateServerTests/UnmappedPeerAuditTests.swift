import CapgateClient
import CapgateFormats
import CapgatePKI
import CapgateWire
import Testing

/// Issue 14 finding 5: no peer without a mapped identity may create audit records. A peer the
/// handshake refuses never reaches the service; a verified but unmapped identity gets 403
/// `unknown_identity` before its body is decoded and before any kernel call, on every verb.
@Suite(.timeLimit(.minutes(1)))
struct UnmappedPeerAuditTests {
    @Test func unmappedAndRefusedPeersLeaveTheTraceStoreEmpty() async throws {
        try await withGateway { gw in
            #expect(gw.kernel.listTraces().isEmpty, "precondition: a fresh gateway has no traces")
            // A verified certificate of the trusted CA whose SPIFFE ID no rule maps.
            let (cert, key) = try gw.issueLeaf("mallory") { $0.uriSANs = [demoID("mallory")] }
            let mallory = try gw.client(certificate: cert, key: key)
            // A body that would be acceptable to every verb's decoder, so a decode-first
            // regression would reach the kernel and write a trace.
            let body: JSONObject = [
                "capability_id": "tasks.list", "goal": "g", "constraints": [:], "capabilities": [],
                "justification": .string(Demo.writeJustification), "principal_id": "mallory",
                "token": ["token_id": "t"], "token_id": "t", "action_id": "a", "handle": "h",
            ]
            for verb in Verb.allCases where verb.role != .anyone {
                let a = try await raw(mallory, verb.method, verb.path, body: Array(JSONValue.object(body).serialized().utf8))
                expectEnvelope(a, 403, .unknownIdentity)
            }
            // A peer of a CA the gateway does not trust: every verb fails at the handshake.
            let stranger = try CertificateAuthority.create(trustDomain: "capgate.local")
            let (sc, sk) = try gw.writeIdentity("stranger", try stranger.issueAgent(name: "alice"))
            let refused = try gw.client(certificate: sc, key: sk)
            for verb in Verb.allCases {
                let a = try? await raw(refused, verb.method, verb.path, body: Array("{}".utf8))
                #expect(a == nil, "\(verb.rawValue) answered a peer the handshake must refuse")
            }
            #expect(gw.kernel.listTraces().isEmpty, "an unmapped or refused peer created audit records")

            // The control: a mapped identity's invoke does write a trace (the assertion above can fail).
            let alice = try gw.client("alice")
            let token = try await alice.grantCapability(Demo.request("tasks.list"), justification: "").token
            _ = try await alice.invoke(token, args: [:])
            #expect(!gw.kernel.listTraces().isEmpty, "a mapped invoke must be audited")
        }
    }
}
