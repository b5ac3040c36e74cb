import Logging
import ModelwireCodec
import ModelwireProtocol
import NIOCore
import Synchronization

/// The client's connections: `connectionsPerEndpoint` slots per endpoint, endpoints and slots
/// taken round-robin, an endpoint whose connect fails skipped (ejected) for a backoff period
/// that doubles per consecutive failure, and a dead or draining connection replaced on demand
/// (one connect per slot at a time; concurrent callers wait for it).
///
/// Every decision is `State`'s (a value with no I/O, unit-tested on its own); this class holds
/// it under a `Mutex`, performs what it returns (connect, wait, close, throw) outside the lock,
/// and parks callers that find every connection full until a call ends.
final class ConnectionPool: Sendable {
    typealias PoolState = State<Connection, EventLoopPromise<Connection>>

    private struct Locked {
        var state: PoolState
        /// Callers waiting because every connection has `max_concurrent_calls` calls open.
        var capacityWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID: UInt64 = 0
    }

    private let locked: Mutex<Locked>
    private let configuration: ModelwireClient.Configuration
    /// Where connections run.
    let group: any EventLoopGroup
    private let logger: Logger
    /// The TLS context every connect uses (nil: plaintext), or why the settings cannot be used.
    private let tls: Result<ClientTLSContext, ModelwireError>?

    init(endpoints: [Endpoint], configuration: ModelwireClient.Configuration, group: any EventLoopGroup, logger: Logger)
    {
        self.locked = Mutex(Locked(state: PoolState(endpoints: endpoints, policy: .init(configuration))))
        self.configuration = configuration
        self.group = group
        self.logger = logger
        self.tls = configuration.tls.map { settings -> Result<ClientTLSContext, ModelwireError> in
            do { return .success(try ClientTLSContext(settings)) } catch let error as ModelwireError {
                return .failure(error)
            } catch {
                return .failure(ModelwireError(.invalidArgument, "\(error)", cause: error))
            }
        }
    }

    /// A connection to use for one call.
    /// - Throws: `NotSent` (`unavailable`, with a retry hint while every endpoint is ejected).
    /// - Parameter limit: The caller's remaining deadline: a connect started for it gives up then.
    func connection(limit: Duration? = nil) async throws -> Connection {
        while true {
            let group = self.group
            let pick = self.locked.withLock { locked in
                locked.state.pick(now: .now, makePending: { group.any().makePromise(of: Connection.self) })
            }
            switch pick {
            case .ready(let connection):
                return connection
            case .wait(let pending):
                let connection: Connection
                do { connection = try await pending.futureResult.get() } catch { throw Self.notSent(error) }
                // Nil when the connection another caller opened filled up meanwhile: pick again.
                if connection.tryReserve() { return connection }
            case .connect(let slot, let endpoint, let pending):
                return try await self.connect(slot, endpoint, pending, limit: limit)
            case .full:
                // Every connection is at the server's max_concurrent_calls: wait until a call ends,
                // the caller's deadline passes or its task is cancelled, then pick again.
                try await self.waitForCapacity(limit: limit)
            case .refuse(let error):
                throw NotSent(error: error)
            }
        }
    }

    /// A live connection with room for one more call, reserved (round-robin, as `connection`
    /// picks), without waiting or connecting; nil when the caller must take the async path.
    func readyConnection() -> Connection? {
        self.locked.withLock { $0.state.readyConnection(now: .now) }
    }

    /// Connects `slot` for the caller `pick` chose, and settles the outcome with the state.
    /// - Returns: The connection, with one call of capacity reserved for this caller.
    private func connect(
        _ slot: PoolState.SlotID,
        _ endpoint: Endpoint,
        _ pending: EventLoopPromise<Connection>,
        limit: Duration?
    ) async throws -> Connection {
        let connection: Connection
        let started = ContinuousClock.now
        do {
            connection = try await Connection.connect(
                to: endpoint,
                configuration: self.configuration,
                tls: try self.tls?.get(),
                limit: limit,
                group: self.group,
                logger: self.logger,
                onRelease: { [weak self] in self?.wakeWaiters() }
            )
        } catch {
            let notSent = Self.notSent(error)
            // The caller's limit counts only when it ran out: a connect refused at once is the endpoint's failure.
            let reachedLimit = limit.flatMap { ContinuousClock.now - started >= $0 ? $0 : nil }
            let action = self.locked.withLock {
                $0.state.connectFailed(slot, reason: notSent.error.message, limit: reachedLimit, now: .now)
            }
            switch action {
            case .deadlineExceeded:
                let failure = ModelwireError(.deadlineExceeded, "deadline exceeded while connecting to \(endpoint)")
                pending.fail(failure)
                self.wakeWaiters()
                throw failure
            case .ejected(let ejection):
                self.logger.debug(
                    "connect failed; endpoint ejected",
                    metadata: [
                        "modelwire.endpoint": "\(endpoint)", "modelwire.ejection": "\(ejection)", "error": "\(error)",
                    ]
                )
                pending.fail(error)
                self.wakeWaiters()
                // A refused token or TLS settings that cannot work are not reachability problems:
                // the call fails with them (another endpoint or a retry would fail the same way).
                if Self.settlesTheCall.contains(notSent.error.code) { throw notSent.error }
                throw notSent
            }
        }
        // This caller's call, reserved before other callers can see the connection (so they
        // cannot fill it past the server's max_concurrent_calls first).
        connection.inFlight.add(1, ordering: .relaxed)
        let action = self.locked.withLock { $0.state.connectSucceeded(slot, connection: connection) }
        switch action {
        case .use: break
        case .closeThenUse: connection.close()
        }
        pending.succeed(connection)
        self.wakeWaiters()
        return connection
    }

    /// Waits until capacity may be free (woken by `wakeWaiters`), the deadline passes or the task is cancelled.
    /// - Throws: `ModelwireError` `deadlineExceeded` or `cancelled`.
    private func waitForCapacity(limit: Duration?) async throws {
        let id = self.locked.withLock { locked -> UInt64 in
            locked.nextWaiterID &+= 1
            return locked.nextWaiterID
        }
        let start = ContinuousClock.now
        let timer = limit.map { limit in
            self.group.any().scheduleTask(in: TimeAmount(limit)) { [weak self] in self?.wake(id) }
        }
        defer { timer?.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = self.locked.withLock { locked -> Bool in
                    let now = ContinuousClock.now
                    let expired = limit.map { now - start >= $0 } ?? false
                    if locked.state.hasCapacity(now: now) || Task.isCancelled || expired { return true }
                    locked.capacityWaiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            self.wake(id)
        }
        if Task.isCancelled { throw ModelwireError(.cancelled, "call cancelled") }
        if let limit, ContinuousClock.now - start >= limit {
            throw ModelwireError(
                .deadlineExceeded,
                "deadline exceeded waiting for a connection with room for another call"
            )
        }
    }

    /// Wakes one waiter (its deadline passed or its task was cancelled).
    private func wake(_ id: UInt64) {
        let waiter = self.locked.withLock { $0.capacityWaiters.removeValue(forKey: id) }
        waiter?.resume()
    }

    /// Wakes every caller waiting for capacity (they pick again).
    private func wakeWaiters() {
        let waiters = self.locked.withLock { locked -> [CheckedContinuation<Void, Never>] in
            defer { locked.capacityWaiters.removeAll() }
            return Array(locked.capacityWaiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Connect failures that fail the call at once instead of being retried.
    private static let settlesTheCall: [V1.StatusCode] = [.unauthenticated, .failedPrecondition, .invalidArgument]

    private static func notSent(_ error: any Error) -> NotSent {
        if let error = error as? NotSent { return error }
        if let error = error as? ModelwireError { return NotSent(error: error) }
        return NotSent(error: ModelwireError(.unavailable, "\(error)", cause: error))
    }

    /// Closes every connection; later calls fail with `unavailable`.
    func close() async {
        defer { self.wakeWaiters() }
        let connections = self.locked.withLock { $0.state.close() }
        for connection in connections {
            connection.close()
            try? await connection.channel.closeFuture.get()
        }
    }

    /// Endpoints currently skipped (for tests and diagnostics).
    var ejectedEndpoints: [Endpoint] {
        self.locked.withLock { $0.state.ejectedEndpoints(now: .now) }
    }
}

extension Connection: PooledConnection {}
