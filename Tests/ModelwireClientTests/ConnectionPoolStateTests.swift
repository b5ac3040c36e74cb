import ModelwireCodec
import ModelwireProtocol
import Testing

@testable import ModelwireClient

/// The pool's decisions without sockets or clocks: fake connections, time passed in.
@Suite struct ConnectionPoolStateTests {
    /// A connection as the pool sees it: usable or not, draining or not, calls in flight.
    final class FakeConnection: PooledConnection, CustomStringConvertible {
        let name: String
        var maxCalls: Int
        var inFlight = 0
        var isDraining = false
        var isClosed = false

        init(_ name: String, maxCalls: Int = 2) {
            self.name = name
            self.maxCalls = maxCalls
        }

        var isUsable: Bool { !self.isDraining && !self.isClosed }
        var hasCapacity: Bool { self.inFlight < self.maxCalls }
        func tryReserve() -> Bool {
            guard self.hasCapacity else { return false }
            self.inFlight += 1
            return true
        }

        var description: String { self.name }
    }

    typealias State = ConnectionPool.State<FakeConnection, String>
    typealias SlotID = State.SlotID

    static let a = Endpoint(host: "a", port: 1)
    static let b = Endpoint(host: "b", port: 2)
    static let c = Endpoint(host: "c", port: 3)

    static func policy(
        slots: Int = 1,
        initial: Duration = .milliseconds(200),
        max: Duration = .seconds(10),
        connectTimeout: Duration = .seconds(5)
    ) -> State.Policy {
        State.Policy(
            slotsPerEndpoint: slots,
            initialEjection: initial,
            maxEjection: max,
            connectTimeout: connectTimeout
        )
    }

    /// A test clock: `t0` plus whatever the test advances.
    let t0 = ContinuousClock.now
    func at(_ ms: Int64) -> ContinuousClock.Instant { self.t0.advanced(by: .milliseconds(ms)) }

    /// Counts the pending connects made, naming them "p1", "p2", ...
    final class PendingNames {
        var made = 0
        func next() -> String {
            self.made += 1
            return "p\(self.made)"
        }
    }

    // MARK: helpers that read a pick

    func expectConnect(
        _ pick: State.Pick,
        _ endpoint: Endpoint,
        slot: Int,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> (SlotID, String)? {
        guard case .connect(let id, let chosen, let pending) = pick else {
            Issue.record("expected a connect to \(endpoint), got \(pick)", sourceLocation: sourceLocation)
            return nil
        }
        #expect(chosen == endpoint, sourceLocation: sourceLocation)
        #expect(id.slot == slot, sourceLocation: sourceLocation)
        return (id, pending)
    }

    func ready(_ pick: State.Pick) -> String? {
        if case .ready(let connection) = pick { return connection.name }
        return nil
    }

    func refusal(_ pick: State.Pick) -> ModelwireError? {
        if case .refuse(let error) = pick { return error }
        return nil
    }

    /// Fills every slot of every endpoint as concurrent first callers do: one pick per slot while
    /// the connects run (a pick prefers a live connection with room to a new connect), then every
    /// connect succeeds. Connection names are "<host><slot>" ("a0", "b1"); each keeps the
    /// reservation of the caller that connected it, as the pool does.
    func connectAll(_ state: inout State, now: ContinuousClock.Instant, maxCalls: Int = 2) -> [String: FakeConnection] {
        var started: [(SlotID, Endpoint)] = []
        let slots = state.endpoints.count * state.policy.slotsPerEndpoint
        for _ in 0..<slots {
            guard case .connect(let id, let endpoint, _) = state.pick(now: now, makePending: { "p" }) else {
                Issue.record("expected a connect")
                continue
            }
            started.append((id, endpoint))
        }
        var connections: [String: FakeConnection] = [:]
        for (id, endpoint) in started {
            let connection = FakeConnection("\(endpoint.host)\(id.slot)", maxCalls: maxCalls)
            #expect(state.connectSucceeded(id, connection: connection) == .use)
            connection.inFlight += 1
            connections[connection.name] = connection
        }
        return connections
    }

    // MARK: selection

    @Test("endpoints, then slots, are taken round-robin; a slot being connected is waited for")
    func selectionOrder() throws {
        var state = State(endpoints: [Self.a, Self.b], policy: Self.policy(slots: 2))
        let names = PendingNames()
        let now = self.at(0)
        let a0 = try #require(self.expectConnect(state.pick(now: now, makePending: names.next), Self.a, slot: 0))
        _ = try #require(self.expectConnect(state.pick(now: now, makePending: names.next), Self.b, slot: 0))
        _ = try #require(self.expectConnect(state.pick(now: now, makePending: names.next), Self.a, slot: 1))
        _ = try #require(self.expectConnect(state.pick(now: now, makePending: names.next), Self.b, slot: 1))
        // Back at a's slot 0, whose connect is still running: wait for it, make no new connect.
        guard case .wait(let pending) = state.pick(now: now, makePending: names.next) else {
            Issue.record("expected to wait for a0's connect")
            return
        }
        #expect(pending == a0.1)
        #expect(names.made == 4)
    }

    @Test("a live connection with room is preferred to connecting another slot")
    func liveConnectionBeforeNewConnect() throws {
        var state = State(endpoints: [Self.a], policy: Self.policy(slots: 2))
        let (slot0, _) = try #require(
            self.expectConnect(state.pick(now: self.at(0), makePending: { "p" }), Self.a, slot: 0)
        )
        _ = state.connectSucceeded(slot0, connection: FakeConnection("a0", maxCalls: 10))
        for _ in 0..<3 { #expect(self.ready(state.pick(now: self.at(0), makePending: { "x" })) == "a0") }
    }

    @Test("once connected, calls rotate over every endpoint and slot, in pick and on the fast path alike")
    func rotation() {
        var state = State(endpoints: [Self.a, Self.b], policy: Self.policy(slots: 2))
        let connections = self.connectAll(&state, now: self.at(0), maxCalls: 100)
        #expect(connections.count == 4)
        var order: [String] = []
        for _ in 0..<4 { order.append(self.ready(state.pick(now: self.at(1), makePending: { "x" })) ?? "-") }
        for _ in 0..<4 { order.append(state.readyConnection(now: self.at(1))?.name ?? "-") }
        // The connects went a0 b0 a1 b1, which left a and b each at slot 0 next.
        #expect(order == ["a0", "b0", "a1", "b1", "a0", "b0", "a1", "b1"])
    }

    @Test("the fast path never connects or waits: nil until a connection is up")
    func readyConnectionNeedsALiveConnection() {
        var state = State(endpoints: [Self.a], policy: Self.policy())
        #expect(state.readyConnection(now: self.at(0)) == nil)
        guard case .connect(let id, _, _) = state.pick(now: self.at(0), makePending: { "p" }) else {
            Issue.record("expected a connect")
            return
        }
        #expect(state.readyConnection(now: self.at(0)) == nil)  // still connecting
        let connection = FakeConnection("a0")
        _ = state.connectSucceeded(id, connection: connection)
        #expect(state.readyConnection(now: self.at(0)) === connection)
        #expect(connection.inFlight == 1)
    }

    @Test("the fast path leaves an endpoint without a connection to pick, which connects it")
    func readyConnectionDoesNotSkipAnUnconnectedEndpoint() throws {
        var state = State(endpoints: [Self.a, Self.b], policy: Self.policy())
        let (slot, _) = try #require(
            self.expectConnect(state.pick(now: self.at(0), makePending: { "p" }), Self.a, slot: 0)
        )
        _ = state.connectSucceeded(slot, connection: FakeConnection("a0", maxCalls: 10))
        // b is next and has no connection: the fast path must not send this call to a0.
        #expect(state.readyConnection(now: self.at(0)) == nil)
        _ = try #require(self.expectConnect(state.pick(now: self.at(0), makePending: { "q" }), Self.b, slot: 0))
    }

    // MARK: capacity

    @Test("a full connection sends the call to an empty slot of the endpoint, which connects")
    func fullConnectionFillsAnEmptySlot() throws {
        var state = State(endpoints: [Self.a], policy: Self.policy(slots: 2))
        let now = self.at(0)
        let (slot0, _) = try #require(self.expectConnect(state.pick(now: now, makePending: { "p0" }), Self.a, slot: 0))
        let a0 = FakeConnection("a0", maxCalls: 1)
        _ = state.connectSucceeded(slot0, connection: a0)
        a0.inFlight = 1  // the connecting caller's call
        // Round-robin points at the empty slot 1 now; a0 is full anyway.
        _ = try #require(self.expectConnect(state.pick(now: now, makePending: { "p1" }), Self.a, slot: 1))
    }

    @Test("every connection at max_concurrent_calls and no free slot: full, until a call ends")
    func full() {
        var state = State(endpoints: [Self.a], policy: Self.policy(slots: 1))
        let connections = self.connectAll(&state, now: self.at(0), maxCalls: 2)
        let a0 = connections["a0"]!
        #expect(self.ready(state.pick(now: self.at(0), makePending: { "x" })) == "a0")
        #expect(a0.inFlight == 2)
        guard case .full = state.pick(now: self.at(0), makePending: { "x" }) else {
            Issue.record("expected full")
            return
        }
        #expect(state.readyConnection(now: self.at(0)) == nil)
        #expect(!state.hasCapacity(now: self.at(0)))
        a0.inFlight -= 1  // a call ends
        #expect(state.hasCapacity(now: self.at(0)))
        #expect(self.ready(state.pick(now: self.at(0), makePending: { "x" })) == "a0")
    }

    @Test("a full endpoint with no free slot lends the call to another endpoint with room")
    func fullEndpointBorrowsAnother() {
        var state = State(endpoints: [Self.a, Self.b], policy: Self.policy(slots: 1))
        let connections = self.connectAll(&state, now: self.at(0), maxCalls: 1)  // a0 and b0, one call each
        connections["b0"]!.inFlight = 0
        // Round-robin is at a, which is full: b0 takes the call.
        #expect(self.ready(state.pick(now: self.at(0), makePending: { "x" })) == "b0")
        guard case .full = state.pick(now: self.at(0), makePending: { "x" }) else {
            Issue.record("expected full")
            return
        }
    }

    // MARK: ejection and backoff

    @Test("a failed connect ejects its endpoint: calls go to the others, and fail fast when none is left")
    func ejectionOnFailure() throws {
        var state = State(endpoints: [Self.a, Self.b], policy: Self.policy())
        let (slotA, _) = try #require(
            self.expectConnect(state.pick(now: self.at(0), makePending: { "pa" }), Self.a, slot: 0)
        )
        #expect(
            state.connectFailed(slotA, reason: "connection refused", limit: nil, now: self.at(0))
                == .ejected(for: .milliseconds(200))
        )
        #expect(state.ejectedEndpoints(now: self.at(0)) == [Self.a])
        // The next picks all go to b while a is out.
        let (slotB, _) = try #require(
            self.expectConnect(state.pick(now: self.at(1), makePending: { "pb" }), Self.b, slot: 0)
        )
        guard case .wait("pb") = state.pick(now: self.at(2), makePending: { "x" }) else {
            Issue.record("expected to wait for b's connect")
            return
        }
        #expect(
            state.connectFailed(slotB, reason: "connect timed out", limit: nil, now: self.at(50))
                == .ejected(for: .milliseconds(200))
        )
        // Both out: refused at once, naming each endpoint's failure, with the soonest return as the hint.
        let error = try #require(self.refusal(state.pick(now: self.at(100), makePending: { "x" })))
        #expect(error.code == .unavailable)
        #expect(error.message.contains("a:1: connection refused"))
        #expect(error.message.contains("b:2: connect timed out"))
        #expect(error.retryAfterMilliseconds == 100)  // a is back at 200 ms
        #expect(!state.hasCapacity(now: self.at(100)))
        #expect(state.readyConnection(now: self.at(100)) == nil)
    }

    @Test("every endpoint down from the start: each is tried once, then calls are refused with a hint")
    func allEndpointsDown() throws {
        var state = State(endpoints: [Self.a, Self.b, Self.c], policy: Self.policy(initial: .seconds(1)))
        for endpoint in [Self.a, Self.b, Self.c] {
            let (slot, _) = try #require(
                self.expectConnect(state.pick(now: self.at(0), makePending: { "p" }), endpoint, slot: 0)
            )
            _ = state.connectFailed(slot, reason: "connection refused", limit: nil, now: self.at(0))
        }
        #expect(state.ejectedEndpoints(now: self.at(0)) == [Self.a, Self.b, Self.c])
        let error = try #require(self.refusal(state.pick(now: self.at(250), makePending: { "x" })))
        #expect(error.retryAfterMilliseconds == 750)
        #expect(error.message.hasPrefix("no reachable server (a:1: connection refused; b:2: connection refused; c:3:"))
    }

    @Test(
        "consecutive failures double the ejection up to the cap",
        arguments: [
            (1, 200), (2, 400), (3, 800), (4, 1000), (9, 1000),
        ]
    )
    func backoff(failures: Int, expectedMilliseconds: Int) {
        let policy = Self.policy(initial: .milliseconds(200), max: .seconds(1))
        #expect(policy.ejection(afterFailures: failures) == .milliseconds(expectedMilliseconds))
    }

    @Test("an endpoint is re-admitted when its ejection ends; each new failure doubles it, a success resets it")
    func readmission() throws {
        var state = State(endpoints: [Self.a], policy: Self.policy(initial: .milliseconds(200), max: .seconds(1)))
        var now: Int64 = 0
        var ejections: [Duration] = []
        for _ in 0..<4 {
            let (slot, _) = try #require(
                self.expectConnect(state.pick(now: self.at(now), makePending: { "p" }), Self.a, slot: 0)
            )
            guard
                case .ejected(let ejection) = state.connectFailed(
                    slot,
                    reason: "refused",
                    limit: nil,
                    now: self.at(now)
                )
            else {
                Issue.record("not ejected")
                return
            }
            ejections.append(ejection)
            let ms = Int64(ejection.components.seconds * 1000 + ejection.components.attoseconds / 1_000_000_000_000_000)
            // Still out 1 ms before the end ...
            #expect(
                self.refusal(state.pick(now: self.at(now + ms - 1), makePending: { "x" }))?.retryAfterMilliseconds == 1
            )
            #expect(state.ejectedEndpoints(now: self.at(now + ms - 1)) == [Self.a])
            // ... and back in at the end.
            now += ms
            #expect(state.ejectedEndpoints(now: self.at(now)).isEmpty)
        }
        #expect(ejections == [.milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1)])
        // A successful connect forgets the failures: the next one is ejected for the initial period again.
        let (slot, _) = try #require(
            self.expectConnect(state.pick(now: self.at(now), makePending: { "p" }), Self.a, slot: 0)
        )
        let connection = FakeConnection("a0")
        #expect(state.connectSucceeded(slot, connection: connection) == .use)
        connection.isClosed = true  // the connection dies later
        let (again, _) = try #require(
            self.expectConnect(state.pick(now: self.at(now + 5), makePending: { "p" }), Self.a, slot: 0)
        )
        #expect(
            state.connectFailed(again, reason: "refused", limit: nil, now: self.at(now + 5))
                == .ejected(for: .milliseconds(200))
        )
    }

    @Test("a connect cut short by the caller's own deadline ejects no one and frees its slot")
    func callerDeadlineIsNotTheEndpointsFault() throws {
        var state = State(endpoints: [Self.a], policy: Self.policy(connectTimeout: .seconds(5)))
        let (slot, _) = try #require(
            self.expectConnect(state.pick(now: self.at(0), makePending: { "p1" }), Self.a, slot: 0)
        )
        #expect(
            state.connectFailed(slot, reason: "connect timed out", limit: .milliseconds(100), now: self.at(100))
                == .deadlineExceeded
        )
        #expect(state.ejectedEndpoints(now: self.at(100)).isEmpty)
        let (slot2, _) = try #require(
            self.expectConnect(state.pick(now: self.at(101), makePending: { "p2" }), Self.a, slot: 0)
        )
        // A limit as long as the connect timeout is the endpoint's failure.
        #expect(
            state.connectFailed(slot2, reason: "connect timed out", limit: .seconds(5), now: self.at(5101))
                == .ejected(for: .milliseconds(200))
        )
    }

    @Test("a draining connection leaves its slot; with other endpoints, its endpoint sits out one initial ejection")
    func draining() throws {
        var state = State(endpoints: [Self.a, Self.b], policy: Self.policy())
        let connections = self.connectAll(&state, now: self.at(0), maxCalls: 100)
        connections["a0"]!.isDraining = true
        // Round-robin is at a: a is skipped (and ejected), b takes the call.
        #expect(self.ready(state.pick(now: self.at(10), makePending: { "x" })) == "b0")
        #expect(state.ejectedEndpoints(now: self.at(10)) == [Self.a])
        #expect(state.ejectedEndpoints(now: self.at(210)).isEmpty)
        // Back in after 200 ms, a connects a new connection into the emptied slot.
        _ = try #require(self.expectConnect(state.pick(now: self.at(210), makePending: { "p" }), Self.a, slot: 0))
    }

    @Test("with a single endpoint, a draining connection is replaced at once, not ejected")
    func drainingSingleEndpoint() throws {
        var state = State(endpoints: [Self.a], policy: Self.policy())
        let connections = self.connectAll(&state, now: self.at(0))
        connections["a0"]!.isDraining = true
        _ = try #require(self.expectConnect(state.pick(now: self.at(1), makePending: { "p" }), Self.a, slot: 0))
        #expect(state.ejectedEndpoints(now: self.at(1)).isEmpty)
    }

    // MARK: closing

    @Test("a closed pool refuses every call, hands back its connections, and closes connects that finish late")
    func closed() throws {
        var state = State(endpoints: [Self.a, Self.b], policy: Self.policy())
        let (slotA, _) = try #require(
            self.expectConnect(state.pick(now: self.at(0), makePending: { "pa" }), Self.a, slot: 0)
        )
        let (slotB, _) = try #require(
            self.expectConnect(state.pick(now: self.at(0), makePending: { "pb" }), Self.b, slot: 0)
        )
        let a0 = FakeConnection("a0")
        _ = state.connectSucceeded(slotA, connection: a0)
        #expect(state.close().map(\.name) == ["a0"])
        #expect(state.isClosed)
        let error = try #require(self.refusal(state.pick(now: self.at(1), makePending: { "x" })))
        #expect(error.code == .unavailable)
        #expect(error.message == "client is shut down")
        #expect(error.retryAfterMilliseconds == nil)
        #expect(state.readyConnection(now: self.at(1)) == nil)
        #expect(state.hasCapacity(now: self.at(1)))  // waiters wake up, to hear that it closed
        #expect(state.connectSucceeded(slotB, connection: FakeConnection("b0")) == .closeThenUse)
    }
}
