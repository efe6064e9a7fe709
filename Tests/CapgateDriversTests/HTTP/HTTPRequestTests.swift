import AgentKernel
@testable import CapgateDrivers
import Testing

/// The pure half of the driver: what a request looks like before any I/O.
struct HTTPRequestTests {
    @Test func queryValuesFollowTheReferenceClient() {
        #expect(HTTPRequest.formEncode(["a": "x y", "b": true, "c": false, "d": nil, "e": 1e20, "f": -0.0,
                                        "g": [], "h": ["1", 2], "i": ["k": [true]], "j": "~._-*'"])
            == "a=x+y&b=true&c=false&d=&e=1e%2B20&f=-0.0&h=1&h=2&i=%7B%27k%27%3A+%5BTrue%5D%7D&j=~._-%2A%27")
        #expect(HTTPRequest.formEncode([:]) == "")
        #expect(HTTPRequest.formEncode(["ключ": "значение"]) == "%D0%BA%D0%BB%D1%8E%D1%87=%D0%B7%D0%BD%D0%B0%D1%87%D0%B5%D0%BD%D0%B8%D0%B5")
    }

    @Test func methodDecidesQueryOrBody() {
        let args: JSONObject = ["operation": "op", "x": 1]
        let get = HTTPRequest(endpoint: HTTPEndpoint(url: "http://h/p?old=1#frag", method: "get"), baseHeaders: [], args: args)
        #expect(get.method == "GET" && get.url == "http://h/p?x=1" && get.body == nil && get.headers.isEmpty)
        let del = HTTPRequest(endpoint: HTTPEndpoint(url: "http://h/p?old=1", method: "Delete"), baseHeaders: [],
                              args: ["operation": "op"])
        #expect(del.method == "DELETE" && del.url == "http://h/p" && del.body == nil)
        let post = HTTPRequest(endpoint: HTTPEndpoint(url: "http://h/p?old=1", method: "post"), baseHeaders: [], args: args)
        #expect(post.url == "http://h/p" && post.body == Array(#"{"x":1}"#.utf8))
        #expect(post.headers == [HTTPHeader(name: "Content-Type", value: "application/json")])
    }

    @Test func endpointHeadersReplaceBaseHeadersCaseInsensitively() {
        let e = HTTPEndpoint(url: "http://h/p", method: "PUT",
                             headers: [HTTPHeader(name: "X-A", value: "endpoint"), HTTPHeader(name: "content-type", value: "t/x")])
        let r = HTTPRequest(endpoint: e, baseHeaders: [HTTPHeader(name: "x-a", value: "base"),
                                                       HTTPHeader(name: "x-b", value: "kept", isSecret: true)], args: [:])
        #expect(r.headers == [HTTPHeader(name: "x-b", value: "kept", isSecret: true), HTTPHeader(name: "X-A", value: "endpoint"),
                              HTTPHeader(name: "content-type", value: "t/x")])
        #expect(r.body == Array("{}".utf8))
    }
}
