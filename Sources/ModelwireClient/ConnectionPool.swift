import Logging
import ModelwireCodec
import ModelwireProtocol
import NIOCore
import Synchronization

/// The client's connections: `connectionsPerEndpoint` slots per endpoint, endpoints and slots
/// taken round-robin, an endpoint whose connect fails skipped (ejected) for a backoff period
/// that doubles per consecutive failure, and a dead or draining connection replaced on demand
/// (one connect per slot at a time; concurrent callers wait for it).
final class ConnectionPool: Sendable {
    private struct Slot {
        var connection: Connection?
        var connecting: EventLoopFuture<Connection>?
    }

    private struct EndpointState {
        var endpoint: Endpoint
        var slots: [Slot]
        var nextSlot = 0
        var failures = 0
        var ejectedUntil: ContinuousClock.Instant?
        /// Why the last connect failed, for the error of calls refused while ejected.
        var lastFailure: String?
    }

    private struct State {
        var endpoints: [EndpointState]
        var nextEndpoint = 0
        var closed = false
        /// Callers waiting because every connection has `max_concurrent_calls` calls open.
        var capacityWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID: UInt64 = 0

        /// Whether a waiting caller could now get a connection (or a slot to connect).
        var hasCapacity: Bool {
            let now = ContinuousClock.now
            return self.closed || self.endpoints.contains { endpoint in
                if let until = endpoint.ejectedUntil, until > now { return false }
                return endpoint.slots.contains { slot in
                    guard let connection = slot.connection else { return slot.connecting == nil }
                    return !connection.isUsable || connection.hasCapacity
                }
            }
        }
    }

    private enum Pick {
        case full
        case ready(Connection)
        case wait(EventLoopFuture<Connection>)
        case connect(endpointIndex: Int, slotIndex: Int, Endpoint, EventLoopPromise<Connection>)
    }

    private let state: Mutex<State>
    private let configuration: ModelwireClient.Configuration
    /// Where connections run.
    let group: any EventLoopGroup
    private let logger: Logger

    init(endpoints: [Endpoint], configuration: ModelwireClient.Configuration, group: any EventLoopGroup, logger: Logger) {
        let slots = max(1, configuration.connectionsPerEndpoint)
        self.state = Mutex(State(endpoints: endpoints.map {
            EndpointState(endpoint: $0, slots: Array(repeating: Slot(), count: slots))
        }))
        self.configuration = configuration
        self.group = group
        self.logger = logger
    }

    /// A connection to use for one call.
    /// - Throws: `NotSent` (`unavailable`, with a retry hint while every endpoint is ejected).
    /// - Parameter limit: The caller's remaining deadline: a connect started for it gives up then.
    func connection(limit: Duration? = nil) async throws -> Connection {
        while true {
            let pick = try self.pick()
            if case .full = pick {
                // Every connection is at the server's max_concurrent_calls: wait until a call ends,
                // the caller's deadline passes or its task is cancelled, then pick again.
                try await self.waitForCapacity(limit: limit)
                continue
            }
            if let connection = try await self.use(pick, limit: limit) { return connection }
        }
    }

    /// A live connection with room for one more call, reserved (round-robin, as `connection`
    /// picks), without waiting or connecting; nil when the caller must take the async path.
    func readyConnection() -> Connection? {
        self.state.withLock { state -> Connection? in
            guard !state.closed else { return nil }
            let now = ContinuousClock.now
            let count = state.endpoints.count
            for step in 0..<count {
                let e = (state.nextEndpoint + step) % count
                if let until = state.endpoints[e].ejectedUntil, until > now { continue }
                let slotCount = state.endpoints[e].slots.count
                for slotStep in 0..<slotCount {
                    let s = (state.endpoints[e].nextSlot + slotStep) % slotCount
                    guard let connection = state.endpoints[e].slots[s].connection, connection.isUsable,
                          connection.tryReserve() else { continue }
                    state.nextEndpoint = (e + 1) % count
                    state.endpoints[e].nextSlot = (s + 1) % slotCount
                    return connection
                }
            }
            return nil
        }
    }

    /// Waits until capacity may be free (woken by `wakeWaiters`), the deadline passes or the task is cancelled.
    /// - Throws: `ModelwireError` `deadlineExceeded` or `cancelled`.
    private func waitForCapacity(limit: Duration?) async throws {
        let id = self.state.withLock { state -> UInt64 in
            state.nextWaiterID &+= 1
            return state.nextWaiterID
        }
        let start = ContinuousClock.now
        let timer = limit.map { limit in
            self.group.any().scheduleTask(in: TimeAmount(limit)) { [weak self] in self?.wake(id) }
        }
        defer { timer?.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = self.state.withLock { state -> Bool in
                    let expired = limit.map { ContinuousClock.now - start >= $0 } ?? false
                    if state.hasCapacity || Task.isCancelled || expired { return true }
                    state.capacityWaiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            self.wake(id)
        }
        if Task.isCancelled { throw ModelwireError(.cancelled, "call cancelled") }
        if let limit, ContinuousClock.now - start >= limit {
            throw ModelwireError(.deadlineExceeded, "deadline exceeded waiting for a connection with room for another call")
        }
    }

    /// Wakes one waiter (its deadline passed or its task was cancelled).
    private func wake(_ id: UInt64) {
        let waiter = self.state.withLock { $0.capacityWaiters.removeValue(forKey: id) }
        waiter?.resume()
    }

    /// Wakes every caller waiting for capacity (they pick again).
    private func wakeWaiters() {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            defer { state.capacityWaiters.removeAll() }
            return Array(state.capacityWaiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    private func pick() throws -> Pick {
        try self.state.withLock { state throws(NotSent) -> Pick in
            guard !state.closed else { throw NotSent(error: ModelwireError(.unavailable, "client is shut down")) }
            let now = ContinuousClock.now
            let count = state.endpoints.count
            // A server that sent GOAWAY is draining: skip it for a while when there are others.
            for e in 0..<count {
                for s in 0..<state.endpoints[e].slots.count {
                    guard let connection = state.endpoints[e].slots[s].connection, !connection.isUsable else { continue }
                    state.endpoints[e].slots[s].connection = nil
                    if connection.isDraining, count > 1 {
                        state.endpoints[e].ejectedUntil = now.advanced(by: self.configuration.initialEjection)
                        state.endpoints[e].lastFailure = "draining (GOAWAY)"
                    }
                }
            }
            var chosen: Int?
            for step in 0..<count {
                let index = (state.nextEndpoint + step) % count
                if let until = state.endpoints[index].ejectedUntil, until > now { continue }
                chosen = index
                break
            }
            guard let e = chosen else {
                let soonest = state.endpoints.compactMap(\.ejectedUntil).min() ?? now
                let wait = now.duration(to: soonest)
                let ms = UInt32(clamping: max(1, wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000))
                let names = state.endpoints.map { "\($0.endpoint): \($0.lastFailure ?? "unreachable")" }.joined(separator: "; ")
                throw NotSent(error: ModelwireError(.unavailable, "no reachable server (\(names)); next attempt in \(ms) ms",
                                                    retryAfterMilliseconds: ms))
            }
            state.nextEndpoint = (e + 1) % count
            let slotCount = state.endpoints[e].slots.count
            var s = state.endpoints[e].nextSlot % slotCount
            state.endpoints[e].nextSlot = (s + 1) % slotCount
            // Prefer the round-robin slot; fall back to any live slot of this endpoint with room
            // under the server's max_concurrent_calls; then connect an empty slot; then refuse.
            var full = false
            for step in 0..<slotCount {
                let index = (s + step) % slotCount
                if let connection = state.endpoints[e].slots[index].connection, connection.isUsable {
                    if connection.tryReserve() { return .ready(connection) }
                    full = true
                }
            }
            if full {
                if let empty = state.endpoints[e].slots.firstIndex(where: { $0.connection == nil && $0.connecting == nil }) {
                    s = empty
                } else {
                    // Another endpoint with room, else wait for a call to end.
                    for other in state.endpoints where other.ejectedUntil.map({ $0 <= now }) ?? true {
                        for slot in other.slots {
                            if let connection = slot.connection, connection.isUsable, connection.tryReserve() {
                                return .ready(connection)
                            }
                        }
                    }
                    return .full
                }
            }
            if let pending = state.endpoints[e].slots[s].connecting { return .wait(pending) }
            let promise = self.group.any().makePromise(of: Connection.self)
            state.endpoints[e].slots[s].connecting = promise.futureResult
            state.endpoints[e].slots[s].connection = nil
            return .connect(endpointIndex: e, slotIndex: s, state.endpoints[e].endpoint, promise)
        }
    }

    /// The connection for `pick`, with one call of capacity reserved; nil when a connection
    /// another caller opened filled up meanwhile (pick again).
    private func use(_ pick: Pick, limit: Duration?) async throws -> Connection? {
        switch pick {
        case .full:
            preconditionFailure("handled by connection(limit:)")
        case .ready(let connection):
            return connection
        case .wait(let future):
            let connection: Connection
            do { connection = try await future.get() } catch { throw Self.notSent(error) }
            return connection.tryReserve() ? connection : nil
        case .connect(let e, let s, let endpoint, let promise):
            do {
                let connection = try await Connection.connect(to: endpoint, configuration: self.configuration, limit: limit,
                                                              group: self.group, logger: self.logger,
                                                              onRelease: { [weak self] in self?.wakeWaiters() })
                let keep = self.state.withLock { state -> Bool in
                    state.endpoints[e].slots[s] = Slot(connection: connection, connecting: nil)
                    state.endpoints[e].failures = 0
                    state.endpoints[e].ejectedUntil = nil
                    return !state.closed
                }
                if !keep { connection.close() }
                connection.inFlight.add(1, ordering: .relaxed)  // this caller's call
                promise.succeed(connection)
                self.wakeWaiters()
                return connection
            } catch {
                if let limit, limit < self.configuration.connectTimeout {
                    // The caller's deadline, not the endpoint, cut this connect short: no ejection.
                    self.state.withLock { $0.endpoints[e].slots[s].connecting = nil }
                    let failure = ModelwireError(.deadlineExceeded, "deadline exceeded while connecting to \(endpoint)")
                    promise.fail(failure)
                    throw failure
                }
                let ejection = self.state.withLock { state -> Duration in
                    state.endpoints[e].slots[s].connecting = nil
                    state.endpoints[e].failures += 1
                    let ejection = self.configuration.ejection(afterFailures: state.endpoints[e].failures)
                    state.endpoints[e].ejectedUntil = ContinuousClock.now.advanced(by: ejection)
                    state.endpoints[e].lastFailure = Self.notSent(error).error.message
                    return ejection
                }
                self.logger.debug("connect failed; endpoint ejected", metadata: [
                    "modelwire.endpoint": "\(endpoint)", "modelwire.ejection": "\(ejection)", "error": "\(error)",
                ])
                promise.fail(error)
                self.wakeWaiters()
                throw Self.notSent(error)
            }
        }
    }

    private static func notSent(_ error: any Error) -> NotSent {
        if let error = error as? NotSent { return error }
        if let error = error as? ModelwireError { return NotSent(error: error) }
        return NotSent(error: ModelwireError(.unavailable, "\(error)"))
    }

    /// Closes every connection; later calls fail with `unavailable`.
    func close() async {
        defer { self.wakeWaiters() }
        let connections = self.state.withLock { state -> [Connection] in
            state.closed = true
            return state.endpoints.flatMap { $0.slots.compactMap(\.connection) }
        }
        for connection in connections {
            connection.close()
            try? await connection.channel.closeFuture.get()
        }
    }

    /// Endpoints currently skipped (for tests and diagnostics).
    var ejectedEndpoints: [Endpoint] {
        let now = ContinuousClock.now
        return self.state.withLock { state in
            state.endpoints.filter { ($0.ejectedUntil ?? now) > now }.map(\.endpoint)
        }
    }
}
