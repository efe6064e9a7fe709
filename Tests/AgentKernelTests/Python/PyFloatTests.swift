import Testing
@testable import AgentKernel
@testable import CapgateFormats

/// Expected strings come from CPython 3.11: `repr(v)` / `json.dumps(v)`.
struct PyFloatTests {
    @Test(arguments: [
        (1.0, "1.0"), (0.1, "0.1"), (1e-05, "1e-05"), (1e16, "1e+16"), (1e22, "1e+22"), (-0.0, "-0.0"),
        (123456789.125, "123456789.125"), (1e15, "1000000000000000.0"), (0.0001, "0.0001"),
        (1.5e-7, "1.5e-07"), (2.5, "2.5"), (1.0 / 3.0, "0.3333333333333333"), (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"), (9999999999999998.0, "9999999999999998.0"),
        (100.0, "100.0"), (12345678901234567890.0, "1.2345678901234567e+19"),
    ])
    func reprMatchesPython(value: Double, expected: String) {
        #expect(PyFloat.repr(value) == expected)
    }

    @Test func nonFiniteJSON() {
        #expect(PyFloat.jsonRepr(.nan) == "NaN")
        #expect(PyFloat.jsonRepr(.infinity) == "Infinity")
        #expect(PyFloat.jsonRepr(-.infinity) == "-Infinity")
    }

    @Test func fixedTwoPlaces() {
        // "%.2f" % 2587.705 == '2587.70' (binary value is below .705); "%.2f" % 0.125 == '0.12' (exact binary, round-half-even)
        #expect(PyFloat.fixed2(2587.705) == "2587.70")
        #expect(PyFloat.fixed2(0.125) == "0.12")
        #expect(PyFloat.fixed2(10) == "10.00")
    }

    /// Integral values take a shortcut past snprintf; these are CPython's `"%.2f" % v` /
    /// `"%.0f" % v` on each side of the shortcut's bounds.
    @Test func fixedIntegralValues() {
        #expect(PyFloat.fixed2(0) == "0.00")
        #expect(PyFloat.fixed2(-0.0) == "-0.00")
        #expect(PyFloat.fixed2(-7) == "-7.00")
        #expect(PyFloat.fixed2(9007199254740991) == "9007199254740991.00")
        #expect(PyFloat.fixed2(9007199254740992) == "9007199254740992.00")
        #expect(PyFloat.fixed2(1e22) == "10000000000000000000000.00")
        #expect(PyFloat.fixed(3, places: 0) == "3")
        #expect(PyFloat.fixed(2.5, places: 0) == "2")
        #expect(PyFloat.fixed(-2.5, places: 1) == "-2.5")
    }

    /// The in-place form a row summary's numeric fact uses writes the same text as `fixed2`,
    /// on both sides of its integral shortcut, and appends rather than replaces.
    @Test func appendFixedTwoMatchesFixedTwo() {
        let values: [Double] = [0, -0.0, 1, -1, 9, 10, -10, 123, 2587.705, 0.125, -7.5, 9007199254740991,
                                -9007199254740991, 9007199254740992, 1e22, -1e22, .nan, .infinity, -.infinity]
        for v in values {
            var out = "x="
            PyFloat.appendFixed2(v, to: &out)
            #expect(out == "x=" + PyFloat.fixed2(v), "\(v)")
        }
        var out = ""
        PyFloat.appendFixed2(-9007199254740991, to: &out)
        #expect(out == "-9007199254740991.00")
    }

    /// A row summary's numeric fact, written in place when its figures are integral, is the
    /// text the general formatting gives, for keys of every width and figures on both
    /// sides of the integral shortcut.
    @Test func numericFactMatchesTheGeneralFormat() {
        let values: [Double] = [0, -0.0, 1, -1, 10, 123, 2587.705, 0.125, 9007199254740991, -9007199254740991,
                                9007199254740992, .nan, .infinity]
        for key in ["id", "", "a_long_column_name_past_sixteen_bytes", "h\u{E9}", "\u{1F600}"] {
            for lo in values {
                for hi in values.prefix(4) + [9007199254740991] {
                    for count in [1, 3] {
                        var stats = RowSummary.NumericStats()
                        stats.add(lo)
                        for _ in 1..<count { stats.add(hi) }
                        let avg = stats.sum / Double(stats.count)
                        let want = "\(key): min=\(PyFloat.fixed2(stats.lo)), max=\(PyFloat.fixed2(stats.hi)), "
                            + "avg=\(PyFloat.fixed2(avg))"
                        #expect(RowSummary.numericFact(key, stats) == want)
                    }
                }
            }
        }
    }
}

struct PyStringTests {
    /// Python `str ==` compares code points: canonically equivalent spellings differ, and the
    /// shortcut for one shared representation (small or heap) still answers by content.
    @Test func equalComparesCodePoints() {
        let long = String(repeating: "field_", count: 8)
        let same = long  // one heap buffer
        let rebuilt = String(decoding: Array(long.utf8), as: UTF8.self)  // another buffer, same bytes
        #expect(PyString.equal(long, same) && PyString.equal(long, rebuilt))
        #expect(PyString.equal("id", "id") && PyString.equal("id", String("xid".dropFirst())))
        #expect(!PyString.equal("\u{E9}", "e\u{301}") && "\u{E9}" == "e\u{301}")  // Swift == would say equal
        #expect(!PyString.equal(long, long + "x") && !PyString.equal("ab", "ba") && !PyString.equal("", "a"))
        #expect(PyString.equal("", ""))
    }

    @Test func reprQuotesLikePython() {
        // repr("it's"), repr('a"b'), repr('\x00\u200b\U0001F600é'), repr('both\'"')
        #expect(PyString.repr("it's") == "\"it's\"")
        #expect(PyString.repr("a\"b") == "'a\"b'")
        #expect(PyString.repr("\u{0}\u{200B}😀é") == "'\\x00\\u200b😀é'")
        #expect(PyString.repr("both'\"") == "'both\\'\"'")
    }

    @Test func lengthsCountCodePoints() {
        #expect(PyString.len("e\u{301}") == 2)
        // Lead bytes counted against the decoded scalars: ASCII, 2-, 3- and 4-byte scalars,
        // small (inline) and heap strings.
        for s in ["", "a", "h\u{E9}llo", "\u{20AC}\u{1F600}x", String(repeating: "\u{E9}\u{1F600}ab", count: 40),
                  "Top keys: id, title"] {
            #expect(PyString.len(s) == s.unicodeScalars.count, "\(s)")
        }
        #expect(PyString.prefix("héllo😀x", 6) == "héllo😀")
        #expect(PyString.strip("\u{1C} \u{3000}x y\u{85}") == "x y")
    }

    @Test func intCoercion() {
        // int(' 1_0 ') == 10; int('٣') == 3; int('5.0') raises; int(10.7) == 10
        #expect(PyInt.coerce(.string(" 1_0 ")) == 10)
        #expect(PyInt.coerce(.string("٣")) == 3)
        #expect(PyInt.coerce(.string("5.0")) == nil)
        #expect(PyInt.coerce(.string("1__0")) == nil)
        #expect(PyInt.coerce(.double(10.7)) == 10)
        #expect(PyInt.coerce(.double(-10.7)) == -10)
        #expect(PyInt.coerce(.bool(true)) == 1)
        #expect(PyInt.coerce(.null) == nil)
        #expect(PyInt.coerce(.array([])) == nil)
    }

    @Test func reprOfContainers() {
        let v: JSONValue = ["a": 1, "b": [true, .null, 2.0, "x"]]
        #expect(v.pyRepr == "{'a': 1, 'b': [True, None, 2.0, 'x']}")
    }
}
