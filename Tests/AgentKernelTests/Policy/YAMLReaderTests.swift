import Testing
@testable import AgentKernel

/// `YAMLReader` against pyyaml 6.0.3's `safe_load` (the reference's YAML loader). The table
/// was produced by loading `"v: " + form` with the venv's pyyaml; to re-check, run
/// `.venv/bin/python -c 'import yaml; print(repr(yaml.safe_load("v: 0x_ff")["v"]))'`.
@Suite struct YAMLReaderTests {
    enum Expected {
        case null, bool(Bool), int(String), float(String), string(String)
        /// pyyaml gives a datetime; JSON has no such type, so the text is kept.
        case text
        /// pyyaml raises.
        case error
    }

    static let scalars: [(String, Expected)] = [
        ("~", .null),
        ("null", .null),
        ("Null", .null),
        ("NULL", .null),
        ("nULL", .string("nULL")),
        ("", .null),
        ("yes", .bool(true)),
        ("Yes", .bool(true)),
        ("YES", .bool(true)),
        ("yEs", .string("yEs")),
        ("no", .bool(false)),
        ("No", .bool(false)),
        ("NO", .bool(false)),
        ("true", .bool(true)),
        ("True", .bool(true)),
        ("TRUE", .bool(true)),
        ("tRUE", .string("tRUE")),
        ("false", .bool(false)),
        ("False", .bool(false)),
        ("FALSE", .bool(false)),
        ("on", .bool(true)),
        ("On", .bool(true)),
        ("ON", .bool(true)),
        ("off", .bool(false)),
        ("Off", .bool(false)),
        ("OFF", .bool(false)),
        ("y", .string("y")),
        ("n", .string("n")),
        ("Y", .string("Y")),
        ("N", .string("N")),
        ("0", .int("0")),
        ("-0", .int("0")),
        ("+0", .int("0")),
        ("1", .int("1")),
        ("-1", .int("-1")),
        ("+12", .int("12")),
        ("1_000", .int("1000")),
        ("1__0", .int("10")),
        ("0b101", .int("5")),
        ("-0b1_1", .int("-3")),
        ("0b", .string("0b")),
        ("0b2", .string("0b2")),
        ("017", .int("15")),
        ("0_7", .int("7")),
        ("08", .string("08")),
        ("09", .string("09")),
        ("00", .int("0")),
        ("0x1F", .int("31")),
        ("0x_ff", .int("255")),
        ("-0xA", .int("-10")),
        ("0xg", .string("0xg")),
        ("0o17", .string("0o17")),
        ("1:30", .int("90")),
        ("-1:30", .int("-90")),
        ("190:20:30", .int("685230")),
        ("1:60", .string("1:60")),
        ("1:5", .int("65")),
        ("1:05", .int("65")),
        ("1:555", .string("1:555")),
        ("0:30", .string("0:30")),
        ("9223372036854775807", .int("9223372036854775807")),
        ("9223372036854775808", .int("9223372036854775808")),
        ("-9223372036854775808", .int("-9223372036854775808")),
        ("99999999999999999999", .int("99999999999999999999")),
        ("1.5", .float("1.5")),
        ("-1.5", .float("-1.5")),
        ("+1.5", .float("1.5")),
        ("1.", .float("1.0")),
        ("1_0.5", .float("10.5")),
        (".5", .float("0.5")),
        ("-.5", .string("-.5")),
        ("+.5", .string("+.5")),
        ("1e5", .string("1e5")),
        ("1.0e5", .string("1.0e5")),
        ("1.0e+5", .float("100000.0")),
        ("1.0E-5", .float("1e-05")),
        ("1.5e+", .string("1.5e+")),
        (".5e-3", .float("0.0005")),
        ("190:20:30.15", .float("685230.15")),
        ("1:30.", .float("90.0")),
        (".inf", .float("inf")),
        (".Inf", .float("inf")),
        (".INF", .float("inf")),
        ("-.inf", .float("-inf")),
        ("+.inf", .float("inf")),
        (".iNF", .string(".iNF")),
        (".nan", .float("nan")),
        (".NaN", .float("nan")),
        (".NAN", .float("nan")),
        ("-.nan", .string("-.nan")),
        ("nan", .string("nan")),
        ("inf", .string("inf")),
        (".", .string(".")),
        ("-", .error),
        ("+", .string("+")),
        ("_1", .string("_1")),
        ("1_", .int("1")),
        ("2001-12-14", .text),
        ("2001-12-14t21:59:43.10-05:00", .text),
        ("12:30:45", .int("45045")),
        ("<<x", .string("<<x")),
        ("abc", .string("abc")),
        ("'yes'", .string("yes")),
        ("\"1\"", .string("1")),
        ("!!str 1", .string("1")),
        ("!!int '12'", .int("12")),
        ("!!float 1", .float("1.0")),
        ("!!bool 'on'", .bool(true)),
        ("!!null x", .null),
        ("!!str", .string("")),
        ("! yes", .bool(true)),
        ("a b", .string("a b")),
        ("1 2", .string("1 2")),
        ("0x", .string("0x")),
        ("0.", .float("0.0")),
        ("-0.0", .float("-0.0")),
        ("1_2_3.4_5", .float("123.45")),
    ]

    @Test(arguments: scalars)
    func scalarResolvesAsPyYAML(form: String, expected: Expected) throws {
        let doc: JSONValue?
        do { doc = try YAMLReader.read("v: " + form) } catch {
            guard case .error = expected else { Issue.record("\(form): \(error)"); return }
            return
        }
        let got = try #require(doc?["v"], "\(form)")
        switch expected {
        case .null: #expect(got == .null, "\(form)")
        case .bool(let b): #expect(got == .bool(b), "\(form)")
        case .int(let text):
            // Python ints are unbounded; outside Int64 the text is kept (as Yams did).
            #expect(got == (Int(text).map(JSONValue.int) ?? .string(form)), "\(form) -> \(got)")
        case .float(let text):
            let want = try #require(Double(text))
            let value = try #require(got.doubleValue, "\(form) -> \(got)")
            #expect(want.isNaN ? value.isNaN : (value == want && value.sign == want.sign), "\(form) -> \(value)")
        case .string(let s): #expect(got == .string(s), "\(form) -> \(got)")
        case .text: #expect(got == .string(form), "\(form) -> \(got)")
        case .error: Issue.record("\(form): pyyaml refuses it, we read \(got)")
        }
    }

    @Test func mappingOrderRepeatedKeysAndMerges() throws {
        let doc = try YAMLReader.read("""
            base: &b {xx: 1, yy: 2}
            other: &o {yy: 3, zz: 4}
            m:
              <<: [*b, *o]
              zz: 5
              ww: 6
              ww: 7
            n:
              <<: *b
              <<: *o
            "<<": quoted
            = : eq
            """)
        // pyyaml 6.0.3: {'xx': 1, 'yy': 3, 'zz': 5, 'ww': 7} and {'xx': 1, 'yy': 3, 'zz': 4}.
        // Merged pairs first in document order, then the mapping's own; a repeated key keeps
        // its first position and its last value (Python dict).
        let m = try #require(doc?["m"]?.objectValue)
        #expect(m.keys == ["xx", "yy", "zz", "ww"])
        #expect(m.values == [.int(1), .int(3), .int(5), .int(7)])
        let n = try #require(doc?["n"]?.objectValue)
        #expect(n.keys == ["xx", "yy", "zz"])
        #expect(n.values == [.int(1), .int(3), .int(4)])
        #expect(doc?["<<"] == .string("quoted"))
        #expect(doc?["="] == .string("eq"))
        #expect(doc?.objectValue?.keys == ["base", "other", "m", "n", "<<", "="])
        // Non-string keys are kept by their text.
        #expect(try YAMLReader.read("1: a\nnull: b\n")?.objectValue?.keys == ["1", "null"])
        #expect(try YAMLReader.read("") == nil)
        #expect(try YAMLReader.read("# only a comment\n") == nil)
    }

    /// Each of these is a yaml.YAMLError in pyyaml (so a PolicyConfigError in the reference).
    @Test(arguments: [
        "a: &x 1\nb: &x 2\n",          // duplicate anchor
        "a: *nowhere\n",               // undefined alias
        "a: 1\n---\nb: 2\n",           // more than one document
        "a: !foo bar\n",               // a tag safe_load cannot construct
        "a: !!binary aGVsbG8=\n",      // bytes: no JSON counterpart
        "a: !!set {x, y}\n",
        "? [1]\n: x\n",                // unhashable key
        "a: =\n",                      // the value tag outside a key
        "a: <<\n",
        "<<: 1\n",                     // merge of a scalar
        "<<: [1]\n",
        "a: !!int abc\n",
        "a: [1, 2\n",                  // syntax
        "a: b: c\n",
    ])
    func refusedAsParseErrors(text: String) {
        #expect(throws: YAMLReader.Failure.self) { try YAMLReader.read(text) }
        #expect {
            _ = try DeclarativePolicyEngine.fromYAML(text)
        } throws: { e in
            (e as? KernelError)?.kind == .policyConfigError && "\(e)".contains("YAML parse error in '<string>': ")
        }
    }

    /// A wide mapping reads in linear time (keys are indexed while composing): 75,000 pairs
    /// (150,000 nodes, within the expansion bound) load in seconds, where a linear key lookup
    /// per insertion would take minutes.
    @Test func wideMappingsAreIndexed() throws {
        let n = 75_000
        var text = ""
        for i in 0..<n { text += "k\(i): \(i)\n" }
        text += "k0: last\n"
        let clock = ContinuousClock()
        let start = clock.now
        let doc = try #require(try YAMLReader.read(text)?.objectValue)
        #expect(clock.now - start < .seconds(20))
        #expect(doc.count == n)
        #expect(doc.keys.first == "k0" && doc["k0"] == .string("last"))
        #expect(doc["k\(n - 1)"] == .int(n - 1))
    }

    @Test func boundsAreReportedAsShapes() {
        let deep = "a: " + String(repeating: "[", count: 129) + String(repeating: "]", count: 129)
        #expect(throws: YAMLReader.Failure.shape("nests collections deeper than 128 levels")) { try YAMLReader.read(deep) }
        let ok = "a: " + String(repeating: "[", count: 127) + String(repeating: "]", count: 127)
        #expect(throws: Never.self) { try YAMLReader.read(ok) }
    }
}
