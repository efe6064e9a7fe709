import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import AgentKernel
@testable import CapgateFormats

@Suite struct TOMLReaderTests {
    static let fixture = PolicyFixtures.load("toml_cases.json")
    static let valid = fixture["valid"]!.arrayValue!
    static let invalid = fixture["invalid"]!.arrayValue!

    /// Same value, same key order, same int/float split as Python 3.11 `tomllib.loads`
    /// (`/tmp/refvenv/bin/python Tests/Fixtures/policy/gen_toml_fixtures.py`).
    @Test(arguments: valid.indices) func matchesTomllib(_ i: Int) throws {
        let c = Self.valid[i]
        let got = try TOMLReader.parse(c["toml"]!.stringValue!)
        #expect(got == c["json"]!, "\n got \(got.serialized())\nwant \(c["json"]!.serialized())")
    }

    /// Documents tomllib rejects are rejected too.
    @Test(arguments: invalid.indices) func rejectsWhatTomllibRejects(_ i: Int) {
        let doc = Self.invalid[i]["toml"]!.stringValue!
        #expect(throws: TOMLReader.ParseError.self, "\(doc)") { try TOMLReader.parse(doc) }
    }

    // python3 -c "import tomllib; print(tomllib.loads('a = inf\nb = -inf\nc = nan'))" -> {'a': inf, 'b': -inf, 'c': nan}
    @Test func specialFloats() throws {
        let v = try TOMLReader.parse("a = inf\nb = -inf\nc = nan\n")
        #expect(v["a"] == .double(.infinity) && v["b"] == .double(-.infinity))
        #expect(v["c"]?.doubleValue?.isNaN == true)
    }

    /// Deliberate differences from tomllib: no unbounded ints and no date-times.
    @Test func capgateRejections() {
        #expect(throws: TOMLReader.ParseError.self) { try TOMLReader.parse("a = 9223372036854775808\n") }
        #expect(throws: TOMLReader.ParseError(message: "Date-time values are not supported in policy files", line: 1,
                                              column: 5)) { try TOMLReader.parse("a = 1979-05-27T07:32:00Z\n") }
        #expect(throws: TOMLReader.ParseError.self) { try TOMLReader.parse("a = 07:32:00\n") }
    }

    @Test func errorPositions() {
        do {
            _ = try TOMLReader.parse("a = 1\nb = 2\nb = 3\n")
            Issue.record("accepted a duplicate key")
        } catch {
            #expect(error.line == 3)
            #expect(error.description.hasSuffix("(at line 3, column 6)"))
        }
    }
}

@Suite struct PolicyLoadingTests {
    func write(_ name: String, _ text: String) -> String {
        var template = Array("/tmp/capgate-policy-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        let path = dir + "/" + name
        let f = fopen(path, "w")!
        fputs(text, f)
        fclose(f)
        return path
    }

    static let policy = TOMLReaderTests.valid[0]["toml"]!.stringValue!

    /// The TOML policy loads to the same engine as the equivalent dict (from_toml == from_dict).
    @Test func tomlFileMatchesDocument() throws {
        let path = write("policy.toml", Self.policy)
        let fromFile = try DeclarativePolicyEngine.fromFile(path: path)
        let fromDict = try DeclarativePolicyEngine(document: TOMLReaderTests.valid[0]["json"]!)
        #expect(fromFile.rules == fromDict.rules)
        #expect(fromFile.rules.map(\.name) == ["reads-ok", "eu-support", "no-secrets"])
        #expect(fromFile.rules[1].match.attributes?.map(\.key) == ["tier", "tenant"])  // document order kept
        #expect(try DeclarativePolicyEngine.fromTOML(Self.policy).rules == fromDict.rules)
        let json = write("policy.json", TOMLReaderTests.valid[0]["json"]!.serialized())
        #expect(try DeclarativePolicyEngine.fromFile(path: json).rules == fromDict.rules)
    }

    // DeclarativePolicyEngine.from_toml(Path('/nonexistent/p.toml')) ->
    // PolicyConfigError("Cannot read policy file '/nonexistent/p.toml': [Errno 2] No such file or directory: '/nonexistent/p.toml'")
    @Test func unreadableFile() {
        #expect(throws: KernelError(.policyConfigError, "Cannot read policy file '/nonexistent/p.toml': [Errno 2] No such file or directory: '/nonexistent/p.toml'")) {
            try DeclarativePolicyEngine.fromTOML(path: "/nonexistent/p.toml")
        }
    }

    @Test func parseAndShapeErrorsAreConfigErrors() {
        #expect(throws: KernelError(.policyConfigError, "TOML parse error in '<string>': Expected '=' after a key in a key/value pair (at line 1, column 9)")) {
            try DeclarativePolicyEngine.fromTOML("default \"deny\"")
        }
        #expect(throws: KernelError(.policyConfigError, "'default' must be 'allow' or 'deny', got 'maybe'.")) {
            try DeclarativePolicyEngine.fromTOML("default = \"maybe\"")
        }
        let yaml = write("p.yaml", "default: deny\n")
        #expect((try? DeclarativePolicyEngine.fromFile(path: yaml)) != nil, "YAML policy files load through YAMLReader")
        let yamlList = write("l.yaml", "- a\n")
        #expect(throws: KernelError(.policyConfigError, "Policy file '\(yamlList)' must be a YAML mapping.")) {
            try DeclarativePolicyEngine.fromFile(path: yamlList)
        }
        let bad = write("p.txt", "")
        #expect(throws: KernelError.self) { try DeclarativePolicyEngine.fromFile(path: bad) }
        let arr = write("p.json", "[1]")
        #expect(throws: KernelError(.policyConfigError, "Policy file '\(arr)' must be a JSON object.")) {
            try DeclarativePolicyEngine.fromFile(path: arr)
        }
    }
}
