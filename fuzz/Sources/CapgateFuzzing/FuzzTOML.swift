import CapgateFormats

/// Target 7: the project's own TOML 1.0 reader alone (`TOMLReader`, used for policy files
/// and, through `ServerConfig`, for the server configuration). The `config` target reaches
/// it only behind a loader that stops at the first semantic error; this one fuzzes the
/// grammar directly. Invariants: an accepted document is a table whose JSON rendering
/// reads back to the same value; a refusal names a position inside the text.
enum FuzzTOML {
    static func run(_ data: UnsafeRawBufferPointer) {
        let text = String(decoding: data, as: UTF8.self)
        do throws(TOMLReader.ParseError) {
            let doc = try TOMLReader.parse(text)
            guard case .object = doc else { fuzzFailure("a TOML document must be a table") }
            // inf/nan have no JSON form, and NaN != NaN: the round trip covers finite values.
            guard isFinite(doc) else { return }
            do throws(JSONParseError) {
                let again = try JSONParser.parse(doc.serializedBytes())
                if again != doc { fuzzFailure("TOML value changed through JSON: \(doc.serialized().prefix(200))") }
            } catch {
                fuzzFailure("TOML value does not render as JSON: \(error)")
            }
        } catch {
            if error.message.isEmpty { fuzzFailure("parse error without a message") }
            let lines = text.utf8.reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
            if error.line < 1 || error.line > lines || error.column < 1 {
                fuzzFailure("error position \(error.line):\(error.column) outside the \(lines)-line text")
            }
        }
    }

    static func isFinite(_ v: JSONValue) -> Bool {
        switch v {
        case .double(let d): return d.isFinite
        case .array(let a): return a.allSatisfy(isFinite)
        case .object(let o): return o.values.allSatisfy(isFinite)
        default: return true
        }
    }
}
