import Testing
import AgentKernel

@Suite struct StaticRouterTests {
    // python: StaticRouter(fallback=[]).route("x") -> ['memory']; add_route("x", []) -> []
    //         StaticRouter(routes={"a":["d1","d2"]}, fallback=["z"]).route("b") -> ['z']
    @Test func fallbackAndExplicitRoutes() {
        let r = StaticRouter(fallback: [])
        #expect(r.route("x") == RoutePlan(capabilityID: "x", driverIDs: ["memory"]))
        r.addRoute("x", [])
        #expect(r.route("x").driverIDs == [])
        #expect(StaticRouter().route("y").driverIDs == ["memory"])
        let r2 = StaticRouter(routes: ["a": ["d1", "d2"]], fallback: ["z"])
        #expect(r2.route("a").driverIDs == ["d1", "d2"])
        #expect(r2.route("b").driverIDs == ["z"])
        r2.addRoute("a", ["d3"])
        #expect(r2.route("a").driverIDs == ["d3"])
    }
}

@Suite struct InvokeTimeoutTests {
    // python resolve_invoke_timeout: 1 -> 1.0, 0.5 -> 0.5, 2.5e-07 -> 2.5e-07, None -> None, inf -> inf,
    // True / '5' / 0 / -1 -> DriverError "Invalid 'invoke_timeout_s' constraint: <repr> (must be a positive number of seconds)."
    @Test func resolves() throws {
        #expect(try InvokeTimeout.resolve([:]) == nil)
        #expect(try InvokeTimeout.resolve(["invoke_timeout_s": nil]) == nil)
        let one = try InvokeTimeout.resolve(["invoke_timeout_s": 1])
        #expect(one == 1.0 && PyFloat.repr(one!) == "1.0")
        #expect(try InvokeTimeout.resolve(["invoke_timeout_s": 0.5]) == 0.5)
        #expect(try PyFloat.repr(InvokeTimeout.resolve(["invoke_timeout_s": 2.5e-7])!) == "2.5e-07")
        #expect(try InvokeTimeout.resolve(["invoke_timeout_s": .double(.infinity)]) == .infinity)
    }

    @Test func rejects() {
        for (v, r) in [(JSONValue.bool(true), "True"), ("5", "'5'"), (0, "0"), (-1, "-1"), (.double(.nan), "nan"), ([1], "[1]")] {
            #expect(throws: KernelError(.driverError,
                                        "Invalid 'invoke_timeout_s' constraint: \(r) (must be a positive number of seconds).")) {
                try InvokeTimeout.resolve(["invoke_timeout_s": v])
            }
        }
    }
}
