import CapgateTLS

/// Target 4: peer identity from a DER certificate (SAN parsing, the SPIFFE rules), and
/// the SPIFFE ID parser on arbitrary text. An accepted identity must be a well-formed
/// `spiffe://` ID that re-parses to itself.
enum FuzzPeerIdentity {
    static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        if let first = bytes.first, first & 1 == 1 {
            // Odd first byte: the rest is an ID string.
            let text = String(decoding: bytes.dropFirst(), as: UTF8.self)
            if let id = try? SPIFFEID(parsing: text) { check(id.description) }
            return
        }
        if let identity = try? PeerIdentity(leafDER: Array(bytes.dropFirst())) {
            check(identity.spiffeID.description)
        }
    }

    static func check(_ id: String) {
        guard id.hasPrefix("spiffe://"), id.utf8.count <= 2048 else { fuzzFailure("accepted a malformed ID") }
        guard (try? SPIFFEID(parsing: id)) != nil else { fuzzFailure("an accepted ID does not re-parse") }
    }
}
