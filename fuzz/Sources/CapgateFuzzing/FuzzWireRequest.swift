import AgentKernel
import CapgateWire

/// Target 2: each verb's request decoder. The first byte picks the verb (its index in
/// `Verb.allCases` without `health`, modulo the count: new verbs are appended, so the
/// committed seeds, all below 11, keep their verb); the rest is the body. Every input must decode to a typed request or a stable `invalid_json` /
/// `invalid_request` error, and a decoded request must satisfy the shape it promises.
enum FuzzWireRequest {
    static let verbs = Verb.allCases.filter { $0 != .health }

    static func run(_ data: UnsafeRawBufferPointer) {
        guard let first = data.first else { return }
        let verb = verbs[Int(first) % verbs.count]
        let body = UnsafeRawBufferPointer(rebasing: data.dropFirst())
        do throws(WireError) {
            let request = try WireRequest.decode(verb, body: body)
            check(request, verb)
        } catch {
            guard error.code == .invalidJSON || error.code == .invalidRequest else {
                fuzzFailure("decoder produced \(error.code.rawValue)")
            }
            guard error.status == 400 else { fuzzFailure("decode error with status \(error.status)") }
        }
    }

    static func check(_ r: WireRequest, _ verb: Verb) {
        switch (r, verb) {
        case (.invoke(_, _, let mode, _, _), .invoke):
            if mode.strictness == nil { fuzzFailure("unvalidated response_mode \(mode.rawValue)") }
        case (.invokeStream(_, _, let mode, _), .invokeStream):
            if mode.strictness == nil { fuzzFailure("unvalidated response_mode \(mode.rawValue)") }
        case (.queryTraces(let q), .queryTraces):
            if q.offset < 0 || (q.limit ?? 0) < 0 { fuzzFailure("negative paging passed the decoder") }
        case (.listCapabilities, .listCapabilities), (.requestCapabilities, .requestCapabilities),
             (.grantCapability, .grantCapability), (.expand, .expand), (.explain, .explain),
             (.explainDenial, .explainDenial), (.revoke, .revoke), (.revokeAll, .revokeAll), (.stats, .stats):
            break
        case (.operations(let op), _) where op.verb == verb:
            break
        default:
            fuzzFailure("decoded \(r) for verb \(verb.rawValue)")
        }
    }
}
