import AgentKernel

/// The request an operation becomes, before any I/O: the part of the reference's
/// `HTTPDriver.execute` that is pure, kept apart so it is unit-tested without a server.
struct HTTPRequest: Sendable {
    var method: String
    /// The endpoint URL with its query replaced by the encoded arguments (GET/DELETE) or
    /// removed (other methods), as the reference's client does when handed `params`.
    var url: String
    /// Driver headers, then endpoint headers replacing same-named ones, then
    /// `Content-Type: application/json` for a JSON body unless the operator set one.
    var headers: [HTTPHeader]
    /// Compact UTF-8 JSON of the arguments; nil for GET and DELETE.
    var body: [UInt8]?

    /// `args` minus `operation` become query parameters for GET and DELETE and a JSON body
    /// for every other method (the reference's rule). Token constraints are never sent.
    init(endpoint: HTTPEndpoint, baseHeaders: [HTTPHeader], args: JSONObject) {
        method = endpoint.method.uppercased()
        var params = JSONObject()
        for (k, v) in args where k != "operation" { params.appendUnchecked(k, v) }
        let base = HTTPRequest.stripQueryAndFragment(endpoint.url)
        if method == "GET" || method == "DELETE" {
            let query = HTTPRequest.formEncode(params)
            url = query.isEmpty ? base : base + "?" + query
            body = nil
        } else {
            url = base
            body = JSONValue.object(params).serializedBytes(.compact)
        }
        var merged = baseHeaders
        for h in endpoint.headers {
            merged.removeAll { HTTPRequest.sameName($0.name, h.name) }
            merged.append(h)
        }
        if body != nil, !merged.contains(where: { HTTPRequest.sameName($0.name, "content-type") }) {
            merged.append(HTTPHeader(name: "Content-Type", value: "application/json"))
        }
        headers = merged
    }

    static func sameName(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && a.lowercased() == b.lowercased()
    }

    /// Drops `?query` and `#fragment`: the reference's client replaces the query with the
    /// (possibly empty) parameters it is given, and no client sends a fragment.
    static func stripQueryAndFragment(_ url: String) -> String {
        guard let cut = url.utf8.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) else {
            return url
        }
        return String(url[..<cut])
    }

    /// `application/x-www-form-urlencoded` in the reference client's rendering: each value
    /// through `queryText`; an array repeats its key once per element (an empty array sends
    /// nothing); bytes outside `A-Z a-z 0-9 _ . - ~` are percent-encoded, space as `+`.
    static func formEncode(_ params: JSONObject) -> String {
        var out: [UInt8] = []
        func pair(_ k: String, _ v: String) {
            if !out.isEmpty { out.append(UInt8(ascii: "&")) }
            quotePlus(k, into: &out)
            out.append(UInt8(ascii: "="))
            quotePlus(v, into: &out)
        }
        for (k, v) in params {
            if case .array(let items) = v {
                for item in items { pair(k, queryText(item)) }
            } else {
                pair(k, queryText(v))
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// One scalar as the reference client writes it in a query: `true`/`false` for booleans
    /// (not Python's `True`), the empty string for null, Python `str()` for everything else
    /// (so a nested object is sent as its Python repr, e.g. `{'k': 'v'}`).
    static func queryText(_ v: JSONValue) -> String {
        switch v {
        case .bool(let b): return b ? "true" : "false"
        case .null: return ""
        default: return v.pyStr
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

    static func quotePlus(_ s: String, into out: inout [UInt8]) {
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"),
                 UInt8(ascii: "~"):
                out.append(b)
            case UInt8(ascii: " "):
                out.append(UInt8(ascii: "+"))
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(b >> 4)])
                out.append(hexDigits[Int(b & 0xF)])
            }
        }
    }
}
