import AgentKernel
import CapgateTLS
import Foundation

/// Load-time checks of a rule set (docs/hardening.md "Identity rules can collide").
///
/// WHY: a principal is what the kernel binds tokens, handles, budgets and audit records to.
/// Two identities that map to one principal share all of that, and an empty principal makes
/// its handles expandable by anyone. So a rule set that CAN map two identities to one
/// principal is refused unless every rule involved says `shared_principal = true`.
///
/// The collision test is conservative (it may refuse a set that no real certificate would
/// collide on, never the other way round): a template `A{name}B` can produce any principal
/// that starts with A, ends with B and has a valid name in between.
extension IdentityMap {
    /// One problem, naming the rule (its index in `rules`) and the key to fix.
    public struct RuleProblem: Sendable, Equatable, CustomStringConvertible {
        public var rule: Int
        public var key: String
        public var message: String
        public var description: String { "identity[\(rule)]\(key.isEmpty ? "" : ".\(key)"): \(message)" }
    }

    /// Every problem of the set, in rule order (empty: the set is acceptable).
    public func problems() -> [RuleProblem] {
        var out: [RuleProblem] = []
        for (i, r) in rules.enumerated() {
            if r.principalID.allSatisfy(\.isWhitespace) {
                // An empty principal is "unbound": its handles would be usable by anyone.
                out.append(.init(rule: i, key: "principal_id", message: "must not be empty"))
                continue
            }
            switch r.match {
            case .exact:
                if r.usesName {
                    out.append(.init(rule: i, key: "principal_id", message: "{name} needs spiffe_prefix, not spiffe_id"))
                }
                if r.nameSpansSegments {
                    out.append(.init(rule: i, key: "name_spans_segments", message: "applies to spiffe_prefix rules only"))
                }
            case .prefix:
                if !r.usesName, !r.sharedPrincipal {
                    out.append(.init(rule: i, key: "principal_id",
                                     message: "maps every identity under the prefix to one principal "
                                         + "\(PyString.repr(r.principalID)); use {name}, or set "
                                         + "shared_principal = true if that is intended"))
                }
                if !r.usesName, r.nameSpansSegments {
                    out.append(.init(rule: i, key: "name_spans_segments", message: "needs {name} in principal_id"))
                }
            }
            for j in 0..<i {
                let o = rules[j]
                if Self.sameMatch(o.match, r.match) {
                    out.append(.init(rule: i, key: "", message: "matches the same SPIFFE ID or prefix as identity[\(j)]"))
                } else if !(o.sharedPrincipal && r.sharedPrincipal), Self.mayCollide(o, r) {
                    out.append(.init(rule: i, key: "principal_id",
                                     message: "can map an identity to the same principal as identity[\(j)]; "
                                         + "set shared_principal = true on both rules if that is intended"))
                }
            }
        }
        return out
    }

    static func sameMatch(_ a: Rule.Match, _ b: Rule.Match) -> Bool {
        switch (a, b) {
        case let (.exact(x), .exact(y)): x == y
        case let (.prefix(x), .prefix(y)): normalized(x) == normalized(y)
        default: false
        }
    }

    static func normalized(_ prefix: String) -> String { prefix.hasSuffix("/") ? prefix : prefix + "/" }

    /// Whether some identity matched by `a` and a DIFFERENT identity matched by `b` can get
    /// the same principal.
    static func mayCollide(_ a: Rule, _ b: Rule) -> Bool {
        switch (a.usesName, b.usesName) {
        case (false, false):
            return a.principalID == b.principalID
        case (true, false):
            return templateCanProduce(a, b.principalID, except: b)
        case (false, true):
            return templateCanProduce(b, a.principalID, except: a)
        case (true, true):
            return templatesOverlap(a, b)
        }
    }

    /// Fixed text before the first and after the last `{name}`.
    static func affixes(_ r: Rule) -> (head: String, tail: String) {
        let parts = r.principalID.components(separatedBy: "{name}")
        return (parts.first ?? "", parts.last ?? "")
    }

    /// Whether `name` could be what `{name}` takes (one valid segment, or several).
    static func isPossibleName(_ name: Substring, spans: Bool) -> Bool {
        let segments = spans ? name.split(separator: "/", omittingEmptySubsequences: false) : [name]
        for s in segments {
            do throws(SPIFFEIDError) { try SPIFFEID.validatePathSegment(Array(s.utf8)) } catch { return false }
        }
        return true
    }

    /// Characters a name may contain at all (for the overlap test of two templates).
    static func isNameText(_ text: Substring, spans: Bool) -> Bool {
        text.utf8.allSatisfy { SPIFFEIDPathAlphabet.contains($0) || (spans && $0 == UInt8(ascii: "/")) }
    }

    /// Can template rule `t` produce `principal` for an identity other than `other`'s own
    /// exact ID (an exact rule wins for its own ID, so that one is not a collision)?
    static func templateCanProduce(_ t: Rule, _ principal: String, except other: Rule) -> Bool {
        guard case .prefix(let prefix) = t.match else { return false }
        let (head, tail) = affixes(t)
        guard principal.count > head.count + tail.count, principal.hasPrefix(head), principal.hasSuffix(tail) else {
            return false
        }
        let middle = principal.dropFirst(head.count).dropLast(tail.count)
        // Several {name}: conservative, any fitting principal may collide.
        if t.principalID.components(separatedBy: "{name}").count > 2 { return true }
        guard isPossibleName(middle, spans: t.nameSpansSegments) else { return false }
        if case .exact(let id) = other.match, id == normalized(prefix) + middle { return false }
        return true
    }

    /// Can two templates produce one principal? Only if one head extends the other with name
    /// text, and likewise the tails.
    static func templatesOverlap(_ a: Rule, _ b: Rule) -> Bool {
        let (ha, ta) = affixes(a), (hb, tb) = affixes(b)
        func compatible(_ x: String, _ y: String, prefix: Bool, xSpans: Bool, ySpans: Bool) -> Bool {
            if x == y { return true }
            if prefix {
                if x.hasPrefix(y) { return isNameText(x.dropFirst(y.count), spans: ySpans) }
                if y.hasPrefix(x) { return isNameText(y.dropFirst(x.count), spans: xSpans) }
            } else {
                if x.hasSuffix(y) { return isNameText(x.dropLast(y.count), spans: ySpans) }
                if y.hasSuffix(x) { return isNameText(y.dropLast(x.count), spans: xSpans) }
            }
            return false
        }
        return compatible(ha, hb, prefix: true, xSpans: a.nameSpansSegments, ySpans: b.nameSpansSegments)
            && compatible(ta, tb, prefix: false, xSpans: a.nameSpansSegments, ySpans: b.nameSpansSegments)
    }
}

/// The SPIFFE path-segment alphabet (letters, digits, `.`, `-`, `_`).
enum SPIFFEIDPathAlphabet {
    static func contains(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39)
            || b == UInt8(ascii: ".") || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
    }
}
