import AgentKernel
import CapgateTesting
import Foundation
import Testing

/// Replays every golden recorded from the Python reference (`make goldens`) and compares
/// each step's normalized output field by field.
struct ReferenceParityTests {
    static let directory = URL(fileURLWithPath: Products.packageRoot).appendingPathComponent("Tests/Fixtures/reference")

    static let scenarioNames: [String] = {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }()

    /// Parse-error details come from each side's own TOML/YAML parser (tomllib, pyyaml vs
    /// ours, libyaml), so for those messages only the class and the `… parse error in '<file>'`
    /// prefix are compared (tools/reference/README.md).
    static func parserDetailTrimmed(_ v: JSONValue) -> JSONValue {
        guard var err = v["error"]?.objectValue, let m = err["message"]?.stringValue,
              m.hasPrefix("TOML parse error in ") || m.hasPrefix("YAML parse error in "),
              let r = m.range(of: "': ") else { return v }
        err["message"] = .string(String(m[..<r.upperBound]))
        return ["error": .object(err)]
    }

    @Test func thereAreAtLeastFortyGoldens() {
        #expect(Self.scenarioNames.count >= 40, "only \(Self.scenarioNames.count) goldens in \(Self.directory.path)")
    }

    @Test(arguments: scenarioNames)
    func replay(_ name: String) async throws {
        let data = try Data(contentsOf: Self.directory.appendingPathComponent(name + ".json"))
        let scenario = try #require(try JSONParser.parse([UInt8](data)).objectValue)
        var runner = try ScenarioRunner(scenario)
        let got = try await runner.runAll()
        let expected = scenario["results"]?.arrayValue ?? []
        #expect(got.count == expected.count, "step count")
        for (i, (g0, e0)) in zip(got, expected).enumerated() {
            let (g, e) = (Self.parserDetailTrimmed(g0), Self.parserDetailTrimmed(e0))
            if let diff = firstDifference(g, e) {
                let op = scenario["steps"]?.arrayValue?[i]["op"]?.stringValue ?? "?"
                Issue.record("\(name) step \(i) (\(op)): \(diff)")
            }
        }
    }
}
