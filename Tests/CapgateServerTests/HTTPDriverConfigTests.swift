import AgentKernel
import CapgateDrivers
import CapgateServer
import CapgateTesting
import Foundation
import Testing

/// `[[driver]] type = "http"`: docs/examples/http-driver.toml loads, every key lands where
/// docs/configuration.md says, each mistake names its key, and a secret header value is
/// never shown.
@Suite(.timeLimit(.minutes(1)))
struct HTTPDriverConfigTests {
    static var example: String { packageRoot + "/docs/examples/http-driver.toml" }

    @Test func theExampleLoads() throws {
        var c = try ServerConfig.load(path: Self.example)
        #expect(c.drivers.map(\.id) == ["crm", "crm-replica"])
        guard case .http(let crm) = c.drivers[0], case .http(let replica) = c.drivers[1] else {
            throw FixtureError("expected two http drivers")
        }
        #expect(crm.timeoutSeconds == 30 && crm.maxResponseBytes == 1_048_576)
        #expect(crm.headers == [HTTPHeader(name: "x-tenant", value: "acme"),
                                HTTPHeader(name: "authorization", value: "Bearer example-token-change-me", isSecret: true)])
        #expect(crm.tls == HTTPTLSFiles())
        let list = try #require(crm.endpoints["crm.list_customers"])
        #expect(list == HTTPEndpoint(url: "http://127.0.0.1:9000/customers", method: "GET"))
        let note = try #require(crm.endpoints["crm.create_note"])
        #expect(note.method == "POST" && note.timeoutSeconds == 5 && note.responseFormat == .json)
        #expect(note.headers == [HTTPHeader(name: "x-request-source", value: "capgate")])
        #expect(replica.timeoutSeconds == 10 && replica.maxResponseBytes == nil && replica.headers.isEmpty)
        #expect(c.capabilities.first?.drivers == ["crm", "crm-replica"])
        // The kernel builds with them; each driver's curl thread ends when the kernel goes away.
        c.stateDir = try makeTempDirectory("httpstate")
        defer { try? FileManager.default.removeItem(atPath: c.stateDir) }
        _ = try KernelFactory.makeKernel(c, secret: "k", clock: SystemClock())
    }

    /// One driver table around `body`, parsed from a temporary directory.
    static func parse(_ driver: String, files: [String: String] = [:]) throws(ConfigError) -> ServerConfig {
        guard let dir = try? makeTempDirectory("httpcfg") else { throw ConfigError("", "cannot create a temp dir") }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (name, text) in files { _ = FileManager.default.createFile(atPath: dir + "/" + name, contents: Data(text.utf8)) }
        let text = MinimalConfig.text(spiffeID: "spiffe://t/agent/a") + """
            [[driver]]
            id = "crm"
            type = "http"
            \(driver)
            """
        return try ServerConfig.parse(text, baseDirectory: dir)
    }

    static let endpoint = "[[driver.endpoint]]\noperation = \"op\"\nurl = \"http://127.0.0.1:1/x\"\n"

    static func error(_ driver: String, files: [String: String] = [:]) -> ConfigError? {
        do { _ = try parse(driver, files: files); return nil } catch { return error }
    }

    @Test func headerFilesAreReadTrimmedAndNeverShown() throws {
        let secret = "Bearer tok-\(UUID().uuidString)"
        let c = try Self.parse("header_files = { authorization = \"auth\" }\n" + Self.endpoint,
                               files: ["auth": secret + "\r\n"])
        guard case .http(let h) = c.drivers[0] else { throw FixtureError("expected http") }
        #expect(h.headers == [HTTPHeader(name: "authorization", value: secret, isSecret: true)])
        var dumped = ""
        dump(c.drivers, to: &dumped)
        for text in [dumped, "\(c.drivers)", String(reflecting: h)] {
            #expect(!text.contains("tok-"), "\(text)")
        }
        // A bad secret file is named, its content is not.
        let bad = try #require(Self.error("header_files = { authorization = \"auth\" }\n" + Self.endpoint,
                                          files: ["auth": "tok-123\nX-Injected: 1\n"]))
        #expect(bad.key == "driver[0].header_files.authorization" && !bad.description.contains("tok-123"))
    }

    @Test func eachMistakeNamesItsKey() {
        let cases: [(String, [String: String], String)] = [
            ("", [:], "driver[0].endpoint"),
            ("timeout_s = 0\n" + Self.endpoint, [:], "driver[0].timeout_s"),
            ("timeout_s = \"5\"\n" + Self.endpoint, [:], "driver[0].timeout_s"),
            ("max_response_bytes = 0\n" + Self.endpoint, [:], "driver[0].max_response_bytes"),
            ("headers = { \"bad name\" = \"v\" }\n" + Self.endpoint, [:], "driver[0].headers.bad name"),
            ("headers = { a = 1 }\n" + Self.endpoint, [:], "driver[0].headers.a"),
            ("header_files = { authorization = \"missing\" }\n" + Self.endpoint, [:], "driver[0].header_files.authorization"),
            ("header_files = { authorization = \"empty\" }\n" + Self.endpoint, ["empty": "\n"],
             "driver[0].header_files.authorization"),
            ("headers = { Authorization = \"x\" }\nheader_files = { authorization = \"f\" }\n" + Self.endpoint, ["f": "y"],
             "driver[0].header_files.authorization"),
            ("ca_file = \"nope.pem\"\n" + Self.endpoint, [:], "driver[0].ca_file"),
            ("client_certificate = \"c.pem\"\n" + Self.endpoint, ["c.pem": "x"], "driver[0].client_certificate"),
            ("timeouts = 3\n" + Self.endpoint, [:], "driver[0].timeouts"),
            (Self.endpoint + "respone_format = \"json\"\n", [:], "driver[0].endpoint[0].respone_format"),
            (Self.endpoint + "response_format = \"xml\"\n", [:], "driver[0].endpoint[0].response_format"),
            (Self.endpoint + "method = \"TRACE\"\n", [:], "driver[0].endpoint[0].method"),
            (Self.endpoint + "timeout_s = -1\n", [:], "driver[0].endpoint[0].timeout_s"),
            ("[[driver.endpoint]]\noperation = \"op\"\nurl = \"file:///etc/passwd\"\n", [:], "driver[0].endpoint[0].url"),
            ("[[driver.endpoint]]\noperation = \"op\"\nurl = \"http://h/x?a=1\"\n", [:], "driver[0].endpoint[0].url"),
            ("[[driver.endpoint]]\noperation = \"op\"\nurl = \"http:///x\"\n", [:], "driver[0].endpoint[0].url"),
            ("[[driver.endpoint]]\nurl = \"http://h/x\"\n", [:], "driver[0].endpoint[0].operation"),
            (Self.endpoint + Self.endpoint, [:], "driver[0].endpoint[1].operation"),
        ]
        for (driver, files, key) in cases {
            let e = Self.error(driver, files: files)
            #expect(e?.key == key, "\(driver) -> \(e.map(String.init(describing:)) ?? "accepted")")
        }
    }

    @Test func checkConfigNamesABadHTTPKey() async throws {
        let capgate = try #require(Products.executable("capgate"), "the capgate executable is not built")
        let ok = try await runProcess(capgate, ["check-config", Self.example])
        #expect(ok.status == 0 && ok.stdout.hasPrefix("ok: 2 capabilities, 2 drivers"), "\(ok.stdout)\(ok.stderr)")
        #expect(!ok.stdout.contains("example-token") && !ok.stderr.contains("example-token"))

        let dir = try makeTempDirectory("httpcheck")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/secrets", withIntermediateDirectories: true)
        try "Bearer example-token-change-me\n".write(toFile: dir + "/secrets/crm-authorization", atomically: true,
                                                    encoding: .utf8)
        let text = try String(contentsOfFile: Self.example, encoding: .utf8)
            .replacingOccurrences(of: "response_format = \"json\"", with: "response_fromat = \"json\"")
        try text.write(toFile: dir + "/bad.toml", atomically: true, encoding: .utf8)
        let bad = try await runProcess(capgate, ["check-config", dir + "/bad.toml"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("driver[0].endpoint[0].response_fromat: unknown key"), "\(bad.stderr)")
    }
}
