#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An immutable BM25 snapshot of the registry (docs/reference-semantics.md §6 "Index" and "Score").
///
/// The reference re-tokenizes every capability on every query; this snapshot tokenizes once
/// per registry change and keeps an inverted index (token -> documents with their BM25
/// contribution), so a query touches only the documents that contain its tokens. Scores
/// are still computed with the same floating-point operations in the same order as
/// `SearchIndex._score`, so ties and ordering match the reference bit for bit: each
/// contribution is the same expression over the same values, and per document the
/// contributions are added in query-token order starting from 0.0, then the prefix bonus.
final class SearchIndex: Sendable {
    /// Field weights (`_WEIGHT_ID/_NAME/_TAGS/_DESCRIPTION`).
    static let weightID = 4.0, weightName = 2.0, weightTags = 3.0, weightDescription = 1.0
    /// BM25 tunables (`_BM25_K1`, `_BM25_B`, Lucene defaults).
    static let k1 = 1.5, b = 0.75

    /// One document's contribution for one query token: `idf * ((tf * (k1 + 1)) / (tf + k1 * norm))`,
    /// where `tf` is `4·count_id + 2·count_name + 3·count_tags + 1·count_desc` (exact small
    /// integers, so their summation order cannot change the value). Every factor is fixed
    /// for a snapshot, so computing it once here gives the very double the reference computes
    /// on every query.
    struct Posting: Sendable {
        let doc: Int
        let contribution: Double
    }

    /// Capability ids in registration order (document numbers index this).
    let ids: [String]
    /// Documents with no tokens score 0 and do not even get the prefix bonus.
    let hasTokens: [Bool]
    /// Token -> entry number in `postings`.
    let tokens: TokenTable
    let postings: [[Posting]]
    /// Document numbers sorted by id in code-point (UTF-8 byte) order, for the prefix bonus.
    let byID: [Int]

    init(_ capabilities: [Capability]) {
        var raw: [String: [(doc: Int, tf: Double)]] = [:]
        var tokenOrder: [String] = []
        var docLens: [Int] = []
        docLens.reserveCapacity(capabilities.count)
        var totalLen = 0
        for (doc, cap) in capabilities.enumerated() {
            // `capability_id.replace(".", " ").replace("_", " ")` is a no-op for tokenization
            // ('.' and '_' already separate tokens), and `" ".join(tags)` tokenizes to the
            // concatenation of each tag's tokens.
            let fields: [([String], Double)] = [
                (SearchTokenizer.tokenize(cap.capabilityID), Self.weightID),
                (SearchTokenizer.tokenize(cap.name), Self.weightName),
                (cap.tags.flatMap(SearchTokenizer.tokenize), Self.weightTags),
                (SearchTokenizer.tokenize(cap.description), Self.weightDescription),
            ]
            var tf: [String: Double] = [:]
            var order: [String] = []
            var len = 0
            for (tokens, weight) in fields {
                len += tokens.count
                for t in tokens {
                    if let v = tf[t] { tf[t] = v + weight } else { tf[t] = weight; order.append(t) }
                }
            }
            for t in order {
                if raw[t] == nil { tokenOrder.append(t) }
                raw[t, default: []].append((doc, tf[t]!))
            }
            docLens.append(len)
            totalLen += len
        }
        // `len(store) or 1`.
        let n = capabilities.count == 0 ? 1 : capabilities.count
        let avg = Double(totalLen) / Double(n)
        let avgOrOne = avg == 0 ? 1.0 : avg
        // `1 - b + b * (doc_len / (avg_len or 1.0))` per document.
        let norms = docLens.map { 1 - Self.b + Self.b * (Double($0) / avgOrOne) }
        self.ids = capabilities.map(\.capabilityID)
        self.hasTokens = docLens.map { $0 > 0 }
        self.tokens = TokenTable(tokenOrder)
        self.postings = tokenOrder.map { t in
            let list = raw[t]!
            let df = list.count
            let idf = log(1 + (Double(n - df) + 0.5) / (Double(df) + 0.5))
            return list.map { p in
                Posting(doc: p.doc, contribution: idf * ((p.tf * (Self.k1 + 1)) / (p.tf + Self.k1 * norms[p.doc])))
            }
        }
        let ids = self.ids
        self.byID = ids.indices.sorted { PyString.less(ids[$0], ids[$1]) }
    }

    /// Lends `body` the document numbers with score > 0 for the query whose tokens are
    /// `joined` (`SearchTokenizer.withJoinedTokens`, not empty), best first, ties by
    /// capability id (`ranked`).
    func withRanked<R>(joined: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<Int>) -> R) -> R {
        // Scores and hits live on the stack: heap arrays per query (with their run-time
        // metadata look-ups) were a fifth of a `request_capabilities`.
        withUnsafeTemporaryAllocation(of: Double.self, capacity: ids.count) { scores in
            scores.initialize(repeating: 0.0)
            return withUnsafeTemporaryAllocation(of: Int.self, capacity: ids.count) { touched in
                // A document is touched at most once, so `touched` cannot overflow.
                let count = accumulate(joined: joined, into: scores, touched: touched)
                // `score > 0`, as `ranked` filters (every contribution is positive, so this
                // keeps them all; it costs nothing to say so exactly).
                var kept = 0
                for i in 0..<count where scores[touched[i]] > 0 {
                    touched[kept] = touched[i]
                    kept += 1
                }
                var hits = UnsafeMutableBufferPointer(rebasing: touched[..<kept])
                hits.sort { a, b in
                    scores[a] != scores[b] ? scores[a] > scores[b] : PyString.less(ids[a], ids[b])
                }
                return body(UnsafeBufferPointer(hits))
            }
        }
    }

    /// Every document's score (`_score`) and the documents that got any contribution.
    func score(_ tokens: [String]) -> (scores: [Double], touched: [Int]) {
        var scores = [Double](repeating: 0.0, count: ids.count)
        var touched = [Int](repeating: 0, count: ids.count)
        let joined = Array(tokens.joined(separator: ".").utf8)
        let count = joined.withUnsafeBufferPointer { j in
            scores.withUnsafeMutableBufferPointer { s in
                touched.withUnsafeMutableBufferPointer { accumulate(joined: j, into: s, touched: $0) }
            }
        }
        return (scores, Array(touched[..<count]))
    }

    /// Adds each document's score to `scores` (zeroed by the caller) and lists the documents
    /// that got any contribution in `touched`, in first-contribution order; returns how many.
    /// Every contribution is positive (idf > 0, tf >= 1) and so is the prefix bonus, so a
    /// document was touched before iff its score is not 0.
    private func accumulate(joined: UnsafeBufferPointer<UInt8>, into scores: UnsafeMutableBufferPointer<Double>,
                            touched: UnsafeMutableBufferPointer<Int>) -> Int {
        var count = 0
        // Duplicated query tokens count again, exactly as the reference loops over them.
        var start = 0
        for end in 0...joined.count where end == joined.count || joined[end] == UInt8(ascii: ".") {
            defer { start = end + 1 }
            guard end > start, let entry = tokens.find(UnsafeBufferPointer(rebasing: joined[start..<end])) else {
                continue  // df == 0
            }
            for p in postings[entry] {
                if scores[p.doc] == 0 {
                    touched[count] = p.doc
                    count += 1
                }
                scores[p.doc] += p.contribution
            }
        }
        // Prefix bonus: `capability_id.startswith(".".join(tokens))`, even with no term match.
        if !joined.isEmpty {
            var lo = 0, hi = byID.count
            while lo < hi {  // first id >= joined (byte order)
                let mid = (lo + hi) / 2
                if ids[byID[mid]].utf8.lexicographicallyPrecedes(joined) { lo = mid + 1 } else { hi = mid }
            }
            while lo < byID.count, ids[byID[lo]].utf8.starts(with: joined) {
                let doc = byID[lo]
                if hasTokens[doc] {
                    if scores[doc] == 0 {
                        touched[count] = doc
                        count += 1
                    }
                    scores[doc] += 1.0
                }
                lo += 1
            }
        }
        return count
    }
}

/// The index's token -> entry map, looked up with the query's bytes (no `String` per query
/// token, no SipHash). Tokens hold only `[a-z0-9]`, so byte equality is `String` equality.
/// Open addressing with linear probing over FNV-1a; the keys come from registered
/// capabilities and a query only reads, so a caller cannot lengthen a probe sequence.
struct TokenTable: Sendable {
    /// Every token's bytes, back to back; entry i is `bytes[ends[i-1]..<ends[i]]`.
    private let bytes: [UInt8]
    private let ends: [Int]
    /// Entry number + 1 per slot, 0 when empty; a power of two at most half full.
    private let slots: [Int32]

    init(_ tokens: [String]) {
        var bytes: [UInt8] = [], ends: [Int] = []
        var size = 8
        while size < 2 * tokens.count { size *= 2 }
        var slots = [Int32](repeating: 0, count: size)
        for (i, t) in tokens.enumerated() {
            let start = bytes.count
            bytes.append(contentsOf: t.utf8)
            ends.append(bytes.count)
            var slot = bytes.withUnsafeBufferPointer { Self.hash(UnsafeBufferPointer(rebasing: $0[start...])) } & (size - 1)
            while slots[slot] != 0 { slot = (slot + 1) & (size - 1) }
            slots[slot] = Int32(i + 1)
        }
        self.bytes = bytes
        self.ends = ends
        self.slots = slots
    }

    @inline(__always)
    private static func hash(_ b: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for c in b { h = (h ^ UInt64(c)) &* 0x0000_0100_0000_01B3 }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    /// The entry number of `token`, if indexed.
    func find(_ token: UnsafeBufferPointer<UInt8>) -> Int? {
        let mask = slots.count - 1
        var slot = Self.hash(token) & mask
        return bytes.withUnsafeBufferPointer { all in
            while true {
                let e = Int(slots[slot])
                if e == 0 { return nil }
                let start = e == 1 ? 0 : ends[e - 2]
                let entry = UnsafeBufferPointer(rebasing: all[start..<ends[e - 1]])
                if entry.count == token.count && entry.elementsEqual(token) { return e - 1 }
                slot = (slot + 1) & mask
            }
        }
    }
}
