import CapgateCore
import CapgateServer
import Foundation
import Testing

/// docs/operations.md's metrics reference is pinned to `GatewayMetricFamilies` both ways (name,
/// type and labels, in order), and every trip code the metrics map to a limit names a real
/// `GatewayLimits` key (or the documented `drainTimeout`).
@Suite(.timeLimit(.minutes(1)))
struct OperationsDocTests {
    static func tableRows(after header: String) throws -> [[String]] {
        let text = try String(contentsOfFile: packageRoot + "/docs/operations.md", encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try #require(lines.firstIndex { $0.hasPrefix(header) }, "docs/operations.md has no table \(header)")
        return lines[(start + 2)...].prefix { $0.hasPrefix("|") }.map { row in
            row.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
    }

    static func unquote(_ s: String) -> String { s.replacingOccurrences(of: "`", with: "") }

    @Test func metricsTableMatchesTheFamilies() throws {
        let doc = try Self.tableRows(after: "| Name | Type | Labels | Meaning |").map { cells in
            [Self.unquote(cells[0]), cells[1],
             cells[2].split(separator: ",").map { Self.unquote($0.trimmingCharacters(in: .whitespaces)) }.joined(separator: ",")]
        }
        let code = GatewayMetricFamilies.all.map { [$0.name, $0.kind.typeName, $0.labels.joined(separator: ",")] }
        #expect(doc == code)
        for family in GatewayMetricFamilies.all {
            #expect(family.name.hasPrefix("capgate_"))
            if family.kind == .counter { #expect(family.name.hasSuffix("_total"), "\(family.name)") }
            if case .histogram = family.kind { #expect(family.name.hasSuffix("_seconds"), "\(family.name)") }
        }
    }

    @Test func tripTableNamesRealLimits() throws {
        let keys = Set(GatewayLimits().catalog.map(\.key)).union(["drainTimeout"])
        var documented: [String: String] = [:]
        for cells in try Self.tableRows(after: "| `limit` | `code` |") {
            let limit = Self.unquote(cells[0])
            #expect(keys.contains(limit), "\(limit) is not a GatewayLimits key")
            for match in cells[1].matches(of: /`([a-z_]+)`/) { documented[String(match.1)] = limit }
        }
        for (code, limit) in GatewayMetricFamilies.limitOfTrip {
            #expect(documented[code] == limit, "trip \(code) -> \(limit) is not in docs/operations.md")
        }
    }
}
