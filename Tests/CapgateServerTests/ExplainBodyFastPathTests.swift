import CapgateFormats
import CapgateTesting
@testable import CapgateWire
import Testing

/// `WireRequest.decode` reads a plain `explain` body (`{"action_id":"..."}`) without the
/// general JSON decoder. For every body, the answer (request or error) must be the general
/// decoder's, and the plain bodies must really take the short path.
@Suite(.timeLimit(.minutes(1)))
struct ExplainBodyFastPathTests {
    /// The general decoder alone: strict parse, then the verb's shape.
    static func general(_ body: [UInt8]) -> Result<WireRequest, WireError> {
        do {
            let value = try JSONParser.parse(body, limits: WireRequest.bodyParserLimits)
            do { return .success(try WireRequest.decode(.explain, value: value)) } catch { return .failure(error) }
        } catch {
            return .failure(WireError(.invalidJSON, "request body is not valid JSON: \(error.description)"))
        }
    }

    static func decoded(_ body: [UInt8]) -> Result<WireRequest, WireError> {
        do { return .success(try WireRequest.decode(.explain, body: body)) } catch { return .failure(error) }
    }

    static func plain(_ body: [UInt8]) -> String? {
        body.withUnsafeBufferPointer { WireRequest.plainExplainActionID($0) }
    }

    static let id = "94fd55e2-75be-4417-9568-fa69a69bfcff"

    @Test func plainBodiesTakeTheShortPathWithTheGeneralAnswer() {
        let plainBodies = [
            #"{"action_id":"\#(Self.id)"}"#,
            #"{ "action_id" : "\#(Self.id)" }"#,
            " \t\r\n{\n\"action_id\":\t\"\(Self.id)\"\r\n}\n ",
            #"{"action_id":""}"#,
            #"{"action_id":"a b ~ ! # $ % & ' ( ) * + , - . / : ; < = > ? @ [ ] ^ _ ` { | }"}"#,
        ]
        for text in plainBodies {
            let body = Array(text.utf8)
            #expect(Self.plain(body) != nil, "\(text)")
            #expect(Self.decoded(body) == Self.general(body), "\(text)")
            if case .success(.explain(let actionID)) = Self.decoded(body) {
                #expect(actionID == Self.plain(body))
            } else {
                Issue.record("\(text) did not decode to explain")
            }
        }
    }

    @Test func otherBodiesFallBackToTheGeneralDecoder() {
        let long = String(repeating: "x", count: WireRequest.plainActionIDMaxBytes + 1)
        let others = [
            "", "{}", "[]", "null", #"{"action_id":1}"#, #"{"action_id":null}"#,
            #"{"action_id":"a\"b"}"#, #"{"action_id":"a\\b"}"#, #"{"action_id":"\u0041"}"#,
            #"{"action_\u0069d":"x"}"#, #"{"action_id":"x","action_id":"y"}"#, #"{"action_id":"x","extra":1}"#,
            #"{"action_id":"x"} x"#, #"{"action_id":"x"}}"#, #"{"action_id":"x""#, #"{"action_id":"x}"#,
            #"{"action_id""x"}"#, #"{"ACTION_ID":"x"}"#, #"{"action_id":"caf\#u{e9}"}"#,
            "{\"action_id\":\"a\u{7f}b\"}", "{\"action_id\":\"a\tb\"}", "\u{feff}{\"action_id\":\"x\"}",
            #"{"action_id":"\#(long)"}"#,
        ]
        for text in others {
            let body = Array(text.utf8)
            #expect(Self.plain(body) == nil, "\(text)")
            #expect(Self.decoded(body) == Self.general(body), "\(text)")
        }
        // Bytes that are not UTF-8 at all.
        let invalid: [UInt8] = Array(#"{"action_id":""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)
        #expect(Self.plain(invalid) == nil)
        #expect(Self.decoded(invalid) == Self.general(invalid))
    }

    /// Random edits of a plain body (bytes replaced, inserted, deleted): whichever path reads
    /// it, the answer is the general decoder's.
    @Test func mutatedBodiesAgreeWithTheGeneralDecoder() {
        var rng = SplitMix64(seed: 0x5eed_e8a1)
        let base = Array(#"{ "action_id" : "\#(Self.id)" }"#.utf8)
        let alphabet: [UInt8] = Array(#"{}[]":, \"\\tn0aZ-"#.utf8) + [0x09, 0x0A, 0x0D, 0x00, 0x7F, 0xC3, 0xA9, 0xFF]
        var short = 0
        for _ in 0..<20_000 {
            var body = base
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let at = Int.random(in: 0..<max(1, body.count), using: &rng)
                let byte = alphabet[Int.random(in: 0..<alphabet.count, using: &rng)]
                switch Int.random(in: 0..<3, using: &rng) {
                case 0 where !body.isEmpty: body[at] = byte
                case 1: body.insert(byte, at: min(at, body.count))
                default: if !body.isEmpty { body.remove(at: at) }
                }
            }
            if Self.plain(body) != nil { short += 1 }
            #expect(Self.decoded(body) == Self.general(body), "\(body)")
        }
        #expect(short > 100)  // the edits also produced plain bodies (ids with other characters)
    }
}
