import CapgateConnection
import CapgateCore
import Testing

/// The pre-authentication budget's decisions, with a hand-moved clock (no sockets).
@Suite("Pre-auth ledger")
struct PreAuthLedgerTests {
    static let generous = TokenBucket.Rate(burst: 1_000, perSecond: 1_000)

    func ledger(perSource: Int, global: Int, ratePerSource: TokenBucket.Rate = generous,
                rateGlobal: TokenBucket.Rate = generous) -> PreAuthLedger<String> {
        PreAuthLedger(limits: .init(perSource: perSource, global: global, ratePerSource: ratePerSource,
                                    rateGlobal: rateGlobal))
    }

    func admitted(_ a: PreAuthLedger<String>.Admission) -> (UInt64, [String], [PreAuthLedger<String>.Scope])? {
        (a.ticket, a.evicted.map(\.payload), a.evicted.map(\.scope))
    }

    @Test func fullSourceEvictsItsOldestAndAdmitsTheNewcomer() throws {
        var l = ledger(perSource: 3, global: 100)
        for i in 0..<3 { #expect(admitted(l.admit(source: "10.0.0.1", payload: "a\(i)", now: 0))?.1 == []) }
        // Another source is unaffected by the first one being full.
        #expect(admitted(l.admit(source: "10.0.0.2", payload: "b0", now: 0))?.1 == [])
        let r = try #require(admitted(l.admit(source: "10.0.0.1", payload: "legit", now: 0)))
        #expect(r.1 == ["a0"])
        #expect(r.2 == [.source])
        #expect(l.count(source: "10.0.0.1") == 3)
        #expect(l.count == 4)
        // The next newcomer pushes out a1, not the legit socket (it is not the oldest).
        #expect(admitted(l.admit(source: "10.0.0.1", payload: "x", now: 0))?.1 == ["a1"])
    }

    @Test func fullGlobalBudgetEvictsTheOldestAnywhere() throws {
        var l = ledger(perSource: 2, global: 4)
        _ = l.admit(source: "s1", payload: "s1a", now: 0)
        _ = l.admit(source: "s2", payload: "s2a", now: 0)
        _ = l.admit(source: "s1", payload: "s1b", now: 0)
        _ = l.admit(source: "s3", payload: "s3a", now: 0)
        let r = try #require(admitted(l.admit(source: "s4", payload: "legit", now: 0)))
        #expect(r.1 == ["s1a"])
        #expect(r.2 == [.global])
        #expect(l.count == 4)
        #expect(l.count(source: "s1") == 1)
    }

    @Test func releaseReturnsTheSlotAndSaysWhetherItWasEvicted() throws {
        var l = ledger(perSource: 1, global: 10)
        let first = try #require(admitted(l.admit(source: "s", payload: "first", now: 0))).0
        let second = try #require(admitted(l.admit(source: "s", payload: "second", now: 0))).0
        #expect(l.release(ticket: first) == false)  // evicted by `second`
        #expect(l.release(ticket: second) == true)
        #expect(l.release(ticket: second) == false)  // idempotent
        #expect(l.count == 0)
        // Released tickets are never picked as the "oldest".
        #expect(admitted(l.admit(source: "s", payload: "third", now: 0))?.1 == [])
    }

    @Test func handshakeRatePerSourceRefusesAtTheFirstBytes() {
        var l = ledger(perSource: 10, global: 10, ratePerSource: .init(burst: 2, perSecond: 1))
        let a = l.admit(source: "s", payload: "a", now: 0).ticket
        let b = l.admit(source: "s", payload: "b", now: 0).ticket
        let c = l.admit(source: "s", payload: "c", now: 0).ticket
        #expect(l.count == 3, "admission takes no token: silent sockets cost a slot, not the rate")
        #expect(l.activate(ticket: a, now: 0) == .active)
        #expect(l.activate(ticket: a, now: 0) == .active, "activating twice takes one token")
        #expect(l.activate(ticket: b, now: 0) == .active)
        #expect(l.activate(ticket: c, now: 0.5) == .rateLimited(.source))
        #expect(l.count == 2, "the refused socket's ticket is released")
        #expect(l.release(ticket: c) == false)
        // Another source has its own bucket; after a second the source has one token again.
        let d = l.admit(source: "t", payload: "d", now: 0.5).ticket
        #expect(l.activate(ticket: d, now: 0.5) == .active)
        let e = l.admit(source: "s", payload: "e", now: 1.5).ticket
        #expect(l.activate(ticket: e, now: 1.5) == .active)
        #expect(l.activate(ticket: 9_999, now: 2) == .unknown)
    }

    @Test func handshakeRateGlobalRefusesEverySource() {
        var l = ledger(perSource: 10, global: 10, rateGlobal: .init(burst: 3, perSecond: 1))
        for s in ["a", "b", "c"] {
            let t = l.admit(source: s, payload: s, now: 0).ticket
            #expect(l.activate(ticket: t, now: 0) == .active)
        }
        let d = l.admit(source: "d", payload: "d", now: 0).ticket
        #expect(l.activate(ticket: d, now: 0) == .rateLimited(.global))
        #expect(l.count == 3)
    }

    /// Slowloris from the agent's own address (make attack, slowloris_tls): a full source evicts
    /// its silent sockets first, so a socket whose handshake started survives any number of
    /// newer silent ones, and the silent flood never spent a handshake token.
    @Test func silentSocketsGoBeforeHandshakesInProgress() throws {
        var l = ledger(perSource: 3, global: 100, ratePerSource: .init(burst: 1, perSecond: 1))
        let agent = l.admit(source: "s", payload: "agent", now: 0).ticket
        #expect(l.activate(ticket: agent, now: 0) == .active)
        var evicted: [String] = []
        for i in 0..<1_000 { evicted += l.admit(source: "s", payload: "silent\(i)", now: 0).evicted.map(\.payload) }
        #expect(!evicted.contains("agent"))
        #expect(evicted.count == 1_000 - 2)
        #expect(l.release(ticket: agent) == true, "the handshake kept its slot")
        // When every socket of the source is mid-handshake, the oldest goes after all.
        var m = ledger(perSource: 2, global: 100)
        let h1 = m.admit(source: "s", payload: "h1", now: 0).ticket
        let h2 = m.admit(source: "s", payload: "h2", now: 0).ticket
        _ = m.activate(ticket: h1, now: 0)
        _ = m.activate(ticket: h2, now: 0)
        #expect(admitted(m.admit(source: "s", payload: "new", now: 0))?.1 == ["h1"])
    }

    @Test func fullGlobalBudgetEvictsSilentSocketsFirst() throws {
        var l = ledger(perSource: 10, global: 3)
        let a = l.admit(source: "s1", payload: "a", now: 0).ticket
        _ = l.admit(source: "s2", payload: "b", now: 0)
        _ = l.admit(source: "s3", payload: "c", now: 0)
        #expect(l.activate(ticket: a, now: 0) == .active)
        #expect(admitted(l.admit(source: "s4", payload: "d", now: 0))?.1 == ["b"])
        #expect(admitted(l.admit(source: "s4", payload: "e", now: 0))?.1 == ["c"])
        #expect(admitted(l.admit(source: "s4", payload: "f", now: 0))?.1 == ["d"])
    }

    @Test func idleSourcesAreForgotten() {
        // Many one-off sources: once their buckets have refilled they are dropped, so the table
        // stays bounded by the live sockets and the recent ones.
        var l = ledger(perSource: 1, global: 4, ratePerSource: .init(burst: 1, perSecond: 10),
                       rateGlobal: .init(burst: 4, perSecond: 1_000_000))
        for i in 0..<10_000 {
            let t = l.admit(source: "s\(i)", payload: "", now: Double(i)).ticket
            _ = l.activate(ticket: t, now: Double(i))
            _ = l.release(ticket: t)
        }
        #expect(l.trackedSources <= 16)
    }

    /// make attack's conn_flood_mtls: over the source's rate, first flights queue in arrival
    /// order instead of being refused, so a newcomer (the agent) is served after the flights
    /// already waiting, however fast the flooder comes back, and the source's rate still holds.
    @Test func handshakesOverTheSourceRateWaitTheirTurnInArrivalOrder() throws {
        var l = ledger(perSource: 10, global: 10, ratePerSource: .init(burst: 1, perSecond: 10))
        let a = l.admit(source: "s", payload: "a", now: 0).ticket
        let b = l.admit(source: "s", payload: "b", now: 0).ticket
        let agent = l.admit(source: "s", payload: "agent", now: 0).ticket
        #expect(l.activate(ticket: a, now: 0) == .active)
        // b waits one refill (0.1 s); the agent queues behind it (0.2 s).
        guard case .wait(let wb) = l.activate(ticket: b, now: 0) else { Issue.record("b not queued"); return }
        #expect(abs(wb - 0.1) < 1e-9)
        guard case .wait(let wa) = l.activate(ticket: agent, now: 0) else { Issue.record("agent not queued"); return }
        #expect(abs(wa - 0.2) < 1e-9)
        // The flooder's next flight arrives after the agent's: it queues behind the agent.
        let c = l.admit(source: "s", payload: "c", now: 0.06).ticket
        guard case .wait = l.activate(ticket: c, now: 0.06) else { Issue.record("c not queued"); return }
        // A token is there at 0.1, but it is b's: the agent asking early waits on.
        guard case .wait = l.activate(ticket: agent, now: 0.1) else { Issue.record("agent jumped the queue"); return }
        guard case .wait = l.activate(ticket: c, now: 0.1) else { Issue.record("c jumped the queue"); return }
        #expect(l.activate(ticket: b, now: 0.1) == .active)
        #expect(l.activate(ticket: agent, now: 0.2) == .active)
        #expect(l.activate(ticket: c, now: 0.2) != .active, "one token per 0.1 s: the rate holds")
        #expect(l.activate(ticket: c, now: 0.31) == .active)
        #expect(l.count == 4, "waiting sockets keep their slots")
    }

    /// A flight whose turn would come later than `maxHandshakeWait` is refused at once; one
    /// already queued is never refused for the wait; an evicted waiter leaves the queue.
    @Test func aQueueLongerThanTheMaximumWaitRefusesNewcomers() throws {
        let rate = 10.0
        var l = ledger(perSource: 20, global: 20, ratePerSource: .init(burst: 1, perSecond: rate))
        var tickets: [UInt64] = []
        for i in 0..<12 { tickets.append(l.admit(source: "s", payload: "t\(i)", now: 0).ticket) }
        #expect(l.activate(ticket: tickets[0], now: 0) == .active)
        let fits = Int(PreAuthLedger<String>.maxHandshakeWait * rate)  // flights that can wait
        for t in tickets[1...fits] {
            guard case .wait = l.activate(ticket: t, now: 0) else { Issue.record("not queued"); return }
        }
        #expect(l.activate(ticket: tickets[fits + 1], now: 0) == .rateLimited(.source))
        #expect(l.release(ticket: tickets[fits + 1]) == false, "a refused flight's ticket is released")
        // The last one queued asks long after its estimate: still queued, not refused.
        #expect(l.activate(ticket: tickets[fits], now: 0.01) != .rateLimited(.source))
        // The head leaves (closed): the next in line gets the token.
        #expect(l.release(ticket: tickets[1]) == true)
        #expect(l.activate(ticket: tickets[2], now: 0.1) == .active)
        // Another source has a queue (and a bucket) of its own.
        let other = l.admit(source: "t", payload: "other", now: 0.1).ticket
        #expect(l.activate(ticket: other, now: 0.1) == .active)
    }
}

/// IPv6 sources are grouped by prefix; IPv4 (and IPv4-mapped IPv6) by address.
@Suite("Source address key")
struct SourceAddressTests {
    @Test func ipv4IsItsOwnKey() {
        #expect(SourceAddress.key(ofIP: "127.0.0.1", ipv6PrefixLength: 64) == "127.0.0.1")
        #expect(SourceAddress.key(ofIP: "10.1.2.3", ipv6PrefixLength: 64) != SourceAddress.key(ofIP: "10.1.2.4",
                                                                                               ipv6PrefixLength: 64))
    }

    @Test func ipv6AddressesOfOnePrefixShareAKey() {
        let a = SourceAddress.key(ofIP: "2001:db8:1:2:aaaa:bbbb:cccc:dddd", ipv6PrefixLength: 64)
        let b = SourceAddress.key(ofIP: "2001:db8:1:2::1", ipv6PrefixLength: 64)
        let other = SourceAddress.key(ofIP: "2001:db8:1:3::1", ipv6PrefixLength: 64)
        #expect(a == "2001:db8:1:2::/64")
        #expect(a == b)
        #expect(a != other)
        #expect(SourceAddress.key(ofIP: "::1", ipv6PrefixLength: 64) == "::/64")
    }

    @Test func prefixLengthIsHonouredAtAnyBit() {
        #expect(SourceAddress.key(ofIP: "2001:db8:ffff::1", ipv6PrefixLength: 48) == "2001:db8:ffff::/48")
        #expect(SourceAddress.key(ofIP: "2001:db8:ffff::1", ipv6PrefixLength: 36) == "2001:db8:f000::/36")
        #expect(SourceAddress.key(ofIP: "2001:db8::1", ipv6PrefixLength: 128) == "2001:db8::1/128")
        #expect(SourceAddress.key(ofIP: "2001:db8:1:2::1", ipv6PrefixLength: 56)
                == SourceAddress.key(ofIP: "2001:db8:1:ff::1", ipv6PrefixLength: 56))
    }

    @Test func ipv4MappedCountsAsIPv4AndGarbageStaysDistinct() {
        #expect(SourceAddress.key(ofIP: "::ffff:192.0.2.7", ipv6PrefixLength: 64) == "192.0.2.7")
        #expect(SourceAddress.key(ofIP: "not-an-ip", ipv6PrefixLength: 64) == "not-an-ip")
    }
}
