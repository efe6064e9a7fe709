#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An immutable BM25 snapshot of the registry (docs/reference-semantics.md §6 "Index" and "Score").
///
/// The reference re-tokenizes every capability on every query; this snapshot tokenizes once
/// per registry change and keeps an inverted index (token -> documents with their weighted
/// term frequency), so a query touches only the documents that contain its tokens. Scores
/// are still computed with the same floating-point operations in the same order as
/// `SearchIndex._score`, so ties and ordering match the reference bit for bit:
/// per document, contributions are added in query-token order starting from 0.0, then the
/// prefix bonus.
final class SearchIndex: Sendable {
    /// Field weights (`_WEIGHT_ID/_NAME/_TAGS/_DESCRIPTION`).
    static let weightID = 4.0, weightName = 2.0, weightTags = 3.0, weightDescription = 1.0
    /// BM25 tunables (`_BM25_K1`, `_BM25_B`, Lucene defaults).
    static let k1 = 1.5, b = 0.75

    struct Posting: Sendable {
        let doc: Int
        /// `4·count_id + 2·count_name + 3·count_tags + 1·count_desc`; exact small integers,
        /// so the summation order cannot change the value.
        let tf: Double
    }

    /// Capability ids in registration order (document numbers index this).
    let ids: [String]
    /// `1 - b + b * (doc_len / (avg_len or 1.0))` per document, precomputed.
    let norms: [Double]
    /// Documents with no tokens score 0 and do not even get the prefix bonus.
    let hasTokens: [Bool]
    let postings: [String: [Posting]]
    /// Document numbers sorted by id in code-point (UTF-8 byte) order, for the prefix bonus.
    let byID: [Int]
    /// `len(store) or 1`.
    let n: Int

    init(_ capabilities: [Capability]) {
        var postings: [String: [Posting]] = [:]
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
            for t in order { postings[t, default: []].append(Posting(doc: doc, tf: tf[t]!)) }
            docLens.append(len)
            totalLen += len
        }
        let n = capabilities.count == 0 ? 1 : capabilities.count
        let avg = Double(totalLen) / Double(n)
        let avgOrOne = avg == 0 ? 1.0 : avg
        self.ids = capabilities.map(\.capabilityID)
        self.norms = docLens.map { 1 - Self.b + Self.b * (Double($0) / avgOrOne) }
        self.hasTokens = docLens.map { $0 > 0 }
        self.postings = postings
        let ids = self.ids
        self.byID = ids.indices.sorted { PyString.less(ids[$0], ids[$1]) }
        self.n = n
    }

    /// Document numbers with score > 0, best first, ties by capability id (`ranked`).
    func ranked(_ tokens: [String]) -> [Int] {
        // The scores live on the stack: two heap arrays per query (with their run-time
        // metadata look-ups) were a fifth of a `request_capabilities`.
        withUnsafeTemporaryAllocation(of: Double.self, capacity: ids.count) { scores in
            scores.initialize(repeating: 0.0)
            var hits = accumulate(tokens, into: scores).filter { scores[$0] > 0 }
            hits.sort { a, b in
                scores[a] != scores[b] ? scores[a] > scores[b] : PyString.less(ids[a], ids[b])
            }
            return hits
        }
    }

    /// Every document's score (`_score`) and the documents that got any contribution.
    func score(_ tokens: [String]) -> (scores: [Double], touched: [Int]) {
        var scores = [Double](repeating: 0.0, count: ids.count)
        let touched = scores.withUnsafeMutableBufferPointer { accumulate(tokens, into: $0) }
        return (scores, touched)
    }

    /// Adds each document's score to `scores` (zeroed by the caller); returns the documents
    /// that got any contribution, in first-contribution order. Every contribution is
    /// positive (idf > 0, tf >= 1) and so is the prefix bonus, so a document was touched
    /// before iff its score is not 0.
    private func accumulate(_ tokens: [String], into scores: UnsafeMutableBufferPointer<Double>) -> [Int] {
        var touched: [Int] = []
        // Duplicated query tokens count again, exactly as the reference loops over them.
        for t in tokens {
            guard let list = postings[t] else { continue }  // df == 0
            let df = list.count
            let idf = log(1 + (Double(n - df) + 0.5) / (Double(df) + 0.5))
            for p in list {
                if scores[p.doc] == 0 { touched.append(p.doc) }
                scores[p.doc] += idf * ((p.tf * (Self.k1 + 1)) / (p.tf + Self.k1 * norms[p.doc]))
            }
        }
        // Prefix bonus: `capability_id.startswith(".".join(tokens))`, even with no term match.
        let joined = Array(tokens.joined(separator: ".").utf8)
        if !joined.isEmpty {
            var lo = 0, hi = byID.count
            while lo < hi {  // first id >= joined (byte order)
                let mid = (lo + hi) / 2
                if ids[byID[mid]].utf8.lexicographicallyPrecedes(joined) { lo = mid + 1 } else { hi = mid }
            }
            while lo < byID.count, ids[byID[lo]].utf8.starts(with: joined) {
                let doc = byID[lo]
                if hasTokens[doc] {
                    if scores[doc] == 0 { touched.append(doc) }
                    scores[doc] += 1.0
                }
                lo += 1
            }
        }
        return touched
    }
}
