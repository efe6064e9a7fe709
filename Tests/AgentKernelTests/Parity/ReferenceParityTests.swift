import AgentKernel
import Foundation
import Testing

/// Replays every golden recorded from the Python reference (`make goldens`) and compares
/// each step's normalized output field by field.
struct ReferenceParityTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/reference")

    static let scenarioNames: [String] = {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }()

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
        for (i, (g, e)) in zip(got, expected).enumerated() {
            if let diff = firstDifference(g, e) {
                let op = scenario["steps"]?.arrayValue?[i]["op"]?.stringValue ?? "?"
                Issue.record("\(name) step \(i) (\(op)): \(diff)")
            }
        }
    }
}
