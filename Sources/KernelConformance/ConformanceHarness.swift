import AgentKernel
import Synchronization

/// What a conformance case needs from the system under test: a fresh kernel holding the
/// given capabilities, all routed to one driver `fixture` whose behaviour the case
/// supplies, reachable as any principal.
public struct ConformanceFixture: Sendable {
    public var capabilities: [Capability]
    /// The `fixture` driver: called for every operation of every capability.
    public var handler: @Sendable (ExecutionContext) async throws -> JSONValue
    /// When set, the `fixture` driver also streams (`invoke_stream`): these chunks, in order.
    public var chunks: (@Sendable (ExecutionContext) -> [JSONObject])?
    public init(capabilities: [Capability], chunks: (@Sendable (ExecutionContext) -> [JSONObject])? = nil,
                handler: @escaping @Sendable (ExecutionContext) async throws -> JSONValue) {
        self.capabilities = capabilities
        self.chunks = chunks
        self.handler = handler
    }

    /// The `fixture` driver every harness registers: streaming when `chunks` is set.
    public var driver: any Driver {
        let plain = FixtureDriver(handler: handler)
        guard let chunks else { return plain }
        return FixtureStreamDriver(plain: plain, chunks: chunks)
    }
}

/// A kernel under test, reachable as a given principal. In process every principal
/// shares one `Kernel`; over the network each principal is a client with its own
/// certificate, mapped by the server to exactly that principal (id, roles, attributes).
public protocol ConformanceTarget: Sendable {
    func api(as principal: Principal) async throws -> any KernelAPI
}

/// Builds targets for the suite.
public protocol ConformanceHarness: Sendable {
    func makeTarget(_ fixture: ConformanceFixture) async throws -> any ConformanceTarget
}

/// A conformance expectation that did not hold.
public struct ConformanceFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The in-process harness: a `Kernel` with the default policy, in-memory stores, and
/// the fixture driver.
public struct LocalHarness: ConformanceHarness {
    public let secret: String
    public init(secret: String = "conformance-secret") { self.secret = secret }

    public func makeTarget(_ fixture: ConformanceFixture) async throws -> any ConformanceTarget {
        let registry = CapabilityRegistry()
        let router = StaticRouter()
        for c in fixture.capabilities {
            try registry.register(c)
            router.addRoute(c.capabilityID, ["fixture"])
        }
        let driver = fixture.driver
        let kernel = Kernel(registry: registry, policy: try DefaultPolicyEngine(),
                            tokens: HMACTokenProvider(secret: secret), router: router,
                            handles: try HandleStore(), traces: try TraceStore())
        kernel.registerDriver(driver)
        return LocalTarget(api: LocalKernelAPI(kernel))
    }

    struct LocalTarget: ConformanceTarget {
        let api: LocalKernelAPI
        func api(as principal: Principal) async throws -> any KernelAPI { api }
    }
}

/// A driver that hands every call to one closure; errors other than `KernelError`
/// surface like a Python handler's exception.
public struct FixtureDriver: Driver {
    public let driverID: String
    let handler: @Sendable (ExecutionContext) async throws -> JSONValue
    public init(driverID: String = "fixture", handler: @escaping @Sendable (ExecutionContext) async throws -> JSONValue) {
        self.driverID = driverID
        self.handler = handler
    }
    public func execute(_ ctx: ExecutionContext) async throws -> RawResult {
        do {
            return RawResult(capabilityID: ctx.capabilityID, data: try await handler(ctx))
        } catch {
            throw KernelError(.driverError, "Handler for operation='\(ctx.operation)' raised: \(FallbackExecutor.pythonStr(error))")
        }
    }
}

/// The fixture driver of a streaming fixture: `execute` as `FixtureDriver`, `executeStream`
/// the fixture's chunks, handed out one per pull.
public struct FixtureStreamDriver: StreamingDriver {
    let plain: FixtureDriver
    let chunks: @Sendable (ExecutionContext) -> [JSONObject]
    public var driverID: String { plain.driverID }

    public func execute(_ ctx: ExecutionContext) async throws -> RawResult { try await plain.execute(ctx) }

    public func executeStream(_ ctx: ExecutionContext) -> AsyncThrowingStream<JSONObject, any Error> {
        let all = chunks(ctx)
        let next = Mutex(0)
        return AsyncThrowingStream {
            next.withLock { i in
                defer { i += 1 }
                return i < all.count ? all[i] : nil
            }
        }
    }
}
