import Testing
@testable import AgentKernel

@Suite struct InMemoryDriverTests {
    // python: InMemoryDriver('good').execute(ExecutionContext('cap.y','p')) ->
    //   "InMemoryDriver 'good' has no handler for operation='cap.y'. Register one with register_handler()."
    // handler raising DriverError('inner') -> "Handler for operation='cap.z' raised: inner"
    // args {"operation": None} -> operation='None'
    @Test func messages() async {
        let d = InMemoryDriver()
        #expect(d.driverID == "memory")
        d.registerHandler("cap.z") { _ in throw KernelError(.driverError, "inner") }
        await #expect(throws: KernelError(.driverError, "Handler for operation='cap.z' raised: inner")) {
            try await d.execute(ExecutionContext(capabilityID: "cap.z", principalID: "p"))
        }
        await #expect(throws: KernelError(.driverError,
                                          "InMemoryDriver 'memory' has no handler for operation='None'. Register one with register_handler().")) {
            try await d.execute(ExecutionContext(capabilityID: "cap.z", principalID: "p", args: ["operation": nil]))
        }
    }

    @Test func operationArgSelectsHandlerAndReplaces() async throws {
        let d = InMemoryDriver(driverID: "m")
        d.registerHandler("op") { ctx in .string(ctx.principalID) }
        d.registerHandler("op") { ctx in .string("v2:" + ctx.principalID) }
        let r = try await d.execute(ExecutionContext(capabilityID: "cap", principalID: "alice", args: ["operation": "op"]))
        #expect(r == RawResult(capabilityID: "cap", data: "v2:alice", metadata: [:]))
    }

    @Test func cancellationIsNotWrapped() async {
        let d = InMemoryDriver()
        d.registerHandler("c") { _ in throw CancellationError() }
        await #expect(throws: CancellationError.self) {
            try await d.execute(ExecutionContext(capabilityID: "c", principalID: "p"))
        }
    }
}

@Suite struct StaticJSONDriverTests {
    @Test func servesDataAsIs() async throws {
        let d = StaticJSONDriver(driverID: "static", operations: ["cap.a": ["x": [1, 2.0]], "other": "s"])
        #expect(try await d.execute(ExecutionContext(capabilityID: "cap.a", principalID: "p")).data == ["x": [1, 2.0]])
        #expect(try await d.execute(ExecutionContext(capabilityID: "cap.a", principalID: "p", args: ["operation": "other"])).data == "s")
        await #expect(throws: KernelError(.driverError, "StaticJSONDriver 'static' has no data for operation='nope'.")) {
            try await d.execute(ExecutionContext(capabilityID: "nope", principalID: "p"))
        }
    }
}

@Suite struct BillingDriverTests {
    static func run(_ args: JSONObject) async throws -> JSONValue {
        try await makeBillingDriver().execute(ExecutionContext(capabilityID: "billing.x", principalID: "p", args: args)).data
    }

    // python: json.dumps(driver.execute(summarize_spend).data, separators=(',',':'))
    @Test func summarizeSpend() async throws {
        #expect(try await Self.run(["operation": "summarize_spend"]).serialized(.compact)
                == #"{"totals":{"USD":{"overdue":33610.59,"unpaid":91829.15,"paid":58915.48},"GBP":{"paid":50883.04,"unpaid":67669.64,"overdue":64291.76},"EUR":{"paid":66558.99,"unpaid":47576.6,"overdue":36207.68}},"invoice_count":200}"#)
    }

    @Test func getInvoice() async throws {
        #expect(try await Self.run(["operation": "get_invoice", "id": "INV-0042"]).serialized(.compact)
                == #"{"id":"INV-0042","customer_name":"Dave Davis","email":"dave.davis42@example.com","phone":"+1-555-1333","amount":3110.46,"currency":"USD","status":"paid","date":"2024-11-04","line_items":[{"description":"Item 1","qty":4,"unit_price":351.24},{"description":"Item 2","qty":3,"unit_price":88.06}]}"#)
        #expect(try await Self.run(["operation": "get_invoice", "id": "nope"]) == nil)
        #expect(try await Self.run(["operation": "get_invoice"]) == nil)
    }

    // python: status 'paid' -> 65 rows (INV-0002, INV-0003, INV-0010 …); '' -> 200; 1 -> 0; 0 -> 200; 'overdue' -> 54
    @Test func listInvoicesFilter() async throws {
        func ids(_ status: JSONValue?) async throws -> [String] {
            var args: JSONObject = ["operation": "list_invoices"]
            if let s = status { args["status"] = s }
            return try await Self.run(args).arrayValue!.map { $0["id"]!.stringValue! }
        }
        let paid = try await ids("paid")
        #expect(paid.count == 65 && Array(paid.prefix(3)) == ["INV-0002", "INV-0003", "INV-0010"])
        #expect(try await ids("").count == 200)
        #expect(try await ids(1).count == 0)
        #expect(try await ids(0).count == 200)
        #expect(try await ids("overdue").count == 54)
        #expect(try await ids(nil).count == 200)
    }

    /// The unfiltered list re-serializes to the reference's `json.dumps` bytes (number fidelity).
    @Test func datasetRoundTrips() async throws {
        let all = try await Self.run(["operation": "list_invoices"])
        #expect(all.serialized(.compact) == BillingData.json)
    }
}
