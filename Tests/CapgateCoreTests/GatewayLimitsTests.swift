import CapgateTesting
import Foundation
import Testing
@testable import CapgateCore

@Suite struct GatewayLimitsTests {
    /// docs/limits.md must list exactly the defaults of the code: parse its table and compare
    /// every row (key, unit, default, attack, enforcer) with `GatewayLimits().catalog`.
    @Test func docsTablePinsTheDefaults() throws {
        let docURL = URL(fileURLWithPath: Products.packageRoot).appendingPathComponent("docs/limits.md")
        let text = try String(contentsOf: docURL, encoding: .utf8)
        let rows = text.split(separator: "\n").filter { $0.hasPrefix("| `") }.map { line in
            line.split(separator: "|", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
        }
        let catalog = GatewayLimits().catalog
        #expect(rows.count == catalog.count)
        for (row, entry) in zip(rows, catalog) {
            #expect(row == ["`\(entry.key)`", entry.unit, entry.value, entry.attack, entry.enforcedBy])
        }
    }

    @Test func defaultsMatchTheBrief() {
        let l = GatewayLimits()
        #expect(l.maxConcurrentStreams == 100)
        #expect(l.initialStreamWindow == 64 * 1024)
        #expect(l.connectionWindow == 1024 * 1024)
        #expect(l.headerTableSize == 4096)
        #expect(l.maxHeaderListBytes == 16 * 1024)
        #expect(l.maxHeaderFields == 100)
        #expect(l.maxStreamsPerConnection == 1000)
        #expect(l.resetBudget == TokenBucket.Rate(burst: 200, perSecond: 20))
        #expect(l.glitchBudget == TokenBucket.Rate(burst: 100, perSecond: 10))
        #expect(l.smallDataFrameBytes == 128)
        #expect(l.writeHighWaterBytes == 32 * 1024)
        #expect([l.handshakeTimeout, l.firstRequestTimeout, l.requestTimeout, l.idleTimeout, l.maxConnectionAge]
                == [10, 10, 15, 120, 3600])
        #expect(throws: Never.self) { try l.validate() }
    }

    @Test func bodyCapPerVerb() {
        var l = GatewayLimits()
        #expect(l.maxBodyBytes(forVerb: "invoke") == 256 * 1024)
        #expect(l.maxBodyBytes(forVerb: "list_capabilities") == 64 * 1024)
        #expect(l.maxBodyBytes(forVerb: "no_such_verb") == 64 * 1024)
        // A verb entry above the hard max is clamped at run time and rejected at start-up.
        l.maxBodyBytesPerVerb["invoke"] = 4 << 20
        #expect(l.maxBodyBytes(forVerb: "invoke") == l.hardMaxBodyBytes)
        #expect(throws: GatewayLimitsError.self) { try l.validate() }
    }

    /// The transport looks a path up in the application's route table, exactly: it never
    /// parses `/v1/<verb>` itself (the application's router is the only one).
    @Test func bodyCapPerRouteIsAnExactPathMatch() {
        var l = GatewayLimits()
        let routes = ["/v1/invoke": l.maxBodyBytes(forVerb: "invoke")]
        #expect(l.maxBodyBytes(forPath: "/v1/invoke", routes: routes) == 256 * 1024)
        #expect(l.maxBodyBytes(forPath: "/v1/invoke?x=1", routes: routes) == 64 * 1024)
        #expect(l.maxBodyBytes(forPath: "/v1/invoke/extra", routes: routes) == 64 * 1024)
        #expect(l.maxBodyBytes(forPath: "/other", routes: routes) == 64 * 1024)
        #expect(l.maxBodyBytes(forPath: "/v1/invoke", routes: [:]) == 64 * 1024)
        // A route entry above the hard max is clamped (fail closed on a bad table).
        l.defaultMaxBodyBytes = 1_000
        #expect(l.maxBodyBytes(forPath: "/v1/x", routes: ["/v1/x": 8 << 20]) == l.hardMaxBodyBytes)
        #expect(l.maxBodyBytes(forPath: "/other", routes: routes) == 1_000)
    }

    @Test func validationNamesTheKey() {
        var l = GatewayLimits()
        l.maxHeaderFields = 0
        #expect(throws: GatewayLimitsError(key: "maxHeaderFields", reason: "must be > 0, got 0")) {
            try l.validate()
        }
        l = GatewayLimits()
        l.connectionWindow = Int(Int32.max) + 1
        do { try l.validate(); Issue.record("expected failure") } catch {
            #expect(error.key == "connectionWindow")
        }
        l = GatewayLimits()
        l.maxBodyBytesPerVerb["expand"] = 0
        do { try l.validate(); Issue.record("expected failure") } catch {
            #expect(error.key == "maxBodyBytesPerVerb.expand")
        }
        l = GatewayLimits()
        l.requestTimeout = .nan
        do { try l.validate(); Issue.record("expected failure") } catch {
            #expect(error.key == "requestTimeout")
        }
    }
}
