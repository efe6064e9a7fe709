import CapgateWire
import Foundation
import Testing

/// docs/errors.md is the one table of codes and statuses; `WireErrorCode.status` implements
/// it. This pins the two together (and the default `type` column).
@Suite(.timeLimit(.minutes(1)))
struct ErrorTableTests {
    @Test func docsTableMatchesTheCode() throws {
        let text = try String(contentsOfFile: packageRoot + "/docs/errors.md", encoding: .utf8)
        var rows: [String: (Int, String)] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3, let status = Int(cells[1]) else { continue }
            rows[cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] = (status, cells[2])
        }
        #expect(Set(rows.keys) == Set(WireErrorCode.allCases.map(\.rawValue)))
        for code in WireErrorCode.allCases {
            let row = try #require(rows[code.rawValue], "\(code.rawValue) missing from docs/errors.md")
            #expect(row.0 == code.status, "\(code.rawValue)")
            if code != .internalError {
                #expect(row.1 == WireError(code, "m").type, "\(code.rawValue) type")
            }
        }
    }
}
