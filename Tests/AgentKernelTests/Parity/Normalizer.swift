import AgentKernel

/// The goldens' normalization (tools/reference/README.md), applied identically to the
/// Swift kernel's outputs: UUIDs become `<uuid:N>` in order of first appearance across a
/// scenario, ISO datetimes become `<datetime>`, and `signature` values become `<sig>`.
final class Normalizer {
    private var uuids: [String: Int] = [:]

    func normalize(_ v: JSONValue, keepSignatures: Bool = false) -> JSONValue {
        switch v {
        case .string(let s): return .string(normalizeString(s))
        case .array(let a): return .array(a.map { normalize($0, keepSignatures: keepSignatures) })
        case .object(let o):
            var out = JSONObject()
            for (k, x) in o {
                if k == "signature" && !keepSignatures, case .string = x {
                    out.appendUnchecked(k, .string("<sig>"))
                } else {
                    out.appendUnchecked(normalizeString(k), normalize(x, keepSignatures: keepSignatures))
                }
            }
            return .object(out)
        default: return v
        }
    }

    func normalizeString(_ s: String) -> String {
        let b = Array(s.utf8)
        guard b.count >= 19 else { return s }
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            if let n = uuidAt(b, i) {
                let text = String(decoding: b[i..<i + n], as: UTF8.self)
                let idx: Int
                if let k = uuids[text] { idx = k } else { idx = uuids.count + 1; uuids[text] = idx }
                out.append(contentsOf: Array("<uuid:\(idx)>".utf8))
                i += n
            } else if let n = datetimeAt(b, i) {
                out.append(contentsOf: Array("<datetime>".utf8))
                i += n
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func isHex(_ c: UInt8) -> Bool { (48...57).contains(c) || (97...102).contains(c) }
    private func isDigit(_ c: UInt8) -> Bool { (48...57).contains(c) }

    /// `[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`
    private func uuidAt(_ b: [UInt8], _ i: Int) -> Int? {
        guard i + 36 <= b.count else { return nil }
        for k in 0..<36 {
            let c = b[i + k]
            switch k {
            case 8, 13, 18, 23: if c != UInt8(ascii: "-") { return nil }
            case 14: if c != UInt8(ascii: "4") { return nil }
            case 19: if !"89ab".utf8.contains(c) { return nil }
            default: if !isHex(c) { return nil }
            }
        }
        return 36
    }

    /// `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(\+00:00|Z)?`
    private func datetimeAt(_ b: [UInt8], _ i: Int) -> Int? {
        let shape = "dddd-dd-ddTdd:dd:dd"
        guard i + shape.utf8.count <= b.count else { return nil }
        for (k, c) in shape.utf8.enumerated() {
            let x = b[i + k]
            if c == UInt8(ascii: "d") { if !isDigit(x) { return nil } } else if x != c { return nil }
        }
        var j = i + shape.utf8.count
        if j < b.count && b[j] == UInt8(ascii: ".") && j + 1 < b.count && isDigit(b[j + 1]) {
            var n = 0
            j += 1
            while j < b.count && isDigit(b[j]) && n < 6 { j += 1; n += 1 }
        }
        let tz = Array("+00:00".utf8)
        if j + 6 <= b.count && Array(b[j..<j + 6]) == tz { j += 6 } else if j < b.count && b[j] == UInt8(ascii: "Z") { j += 1 }
        return j - i
    }
}

/// The first difference between two JSON values, as a path and both sides.
func firstDifference(_ a: JSONValue, _ b: JSONValue, path: String = "$") -> String? {
    switch (a, b) {
    case (.object(let x), .object(let y)):
        if x.keys != y.keys { return "\(path): keys \(x.keys) != \(y.keys)" }
        for (k, v) in x { if let d = firstDifference(v, y[k]!, path: path + "." + k) { return d } }
        return nil
    case (.array(let x), .array(let y)):
        if x.count != y.count { return "\(path): \(x.count) items != \(y.count) items" }
        for i in x.indices { if let d = firstDifference(x[i], y[i], path: "\(path)[\(i)]") { return d } }
        return nil
    default:
        return a == b ? nil : "\(path): swift \(a.serialized()) != reference \(b.serialized())"
    }
}
