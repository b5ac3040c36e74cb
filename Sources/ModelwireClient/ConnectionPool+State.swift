import ModelwireCodec
import ModelwireProtocol

extension ConnectionPool {
    /// The pool's decisions, as a value: which endpoint and connection a call uses, when every
    /// connection is full, which endpoint is ejected after a failed connect and for how long, and
    /// what a finished connect changes. No I/O, no lock, no clock: the caller passes `now`, holds
    /// the lock around every mutating method, and performs the returned action outside it
    /// (connect, wait, close, throw), in the shape of `CallTable` and grpc-swift-2's state machines.
    /// The one thing read from outside is each connection's own state (`PooledConnection`: its
    /// in-flight count and whether it drains), which its event loop and its calls update without
    /// the pool's lock.
    ///
    /// Policy (unchanged from the pool that had it inline):
    /// - Endpoints are taken round-robin, skipping ejected ones; within an endpoint its slots
    ///   (`connectionsPerEndpoint`) are taken round-robin too.
    /// - A pick takes a live connection with room on the chosen endpoint, trying its slots from the
    ///   round-robin one. With no live connection there, it connects that slot (or waits for the
    ///   connect already running in it). With every live one full, it connects an empty slot of
    ///   that endpoint; with none empty, it takes any live connection with room on another
    ///   admitted endpoint, and otherwise reports `full` (the caller waits for a call to end).
    ///   So an endpoint's further connections open only when calls arrive while its first one is
    ///   connecting, or when the open ones are full.
    /// - A failed connect ejects its endpoint for `initialEjection`, doubled per consecutive
    ///   failure up to `maxEjection`; once that passes the endpoint is admitted again, and a
    ///   successful connect resets the count. A connect cut short by the caller's own deadline
    ///   (shorter than the connect timeout) ejects no one.
    /// - A connection whose server sent GOAWAY leaves its slot; with more than one endpoint, its
    ///   endpoint is skipped for `initialEjection`.
    ///
    /// States: `open` → `close()` → `closed` (terminal: every pick is refused, connects that
    /// finish afterwards are closed).
    ///
    /// `Pooled` is the connection type (`Connection`); `Pending` is how a connect in progress is
    /// shared with the callers that wait for it (an `EventLoopPromise` in the pool).
    struct State<Pooled: PooledConnection, Pending> {
        /// One connection slot of an endpoint: empty, connecting, or holding a connection.
        struct Slot {
            var connection: Pooled?
            var connecting: Pending?

            var isEmpty: Bool { self.connection == nil && self.connecting == nil }
        }

        /// Where a connect lands: an endpoint's index and a slot's index in it.
        struct SlotID: Hashable, Sendable {
            var endpoint: Int
            var slot: Int
        }

        struct EndpointState {
            var endpoint: Endpoint
            var slots: [Slot]
            var nextSlot = 0
            /// Consecutive failed connects (reset by a successful one).
            var failures = 0
            var ejectedUntil: ContinuousClock.Instant?
            /// Why the last connect failed, for the error of calls refused while ejected.
            var lastFailure: String?

            func isEjected(at now: ContinuousClock.Instant) -> Bool {
                if let until = self.ejectedUntil { return until > now }
                return false
            }
        }

        let policy: Policy
        private(set) var endpoints: [EndpointState]
        private var nextEndpoint = 0
        private(set) var isClosed = false

        /// Creates the state of a pool over `endpoints`, every slot empty.
        /// - Precondition: `endpoints` is not empty.
        init(endpoints: [Endpoint], policy: Policy) {
            precondition(!endpoints.isEmpty, "a connection pool needs at least one endpoint")
            self.policy = policy
            self.endpoints = endpoints.map {
                EndpointState(endpoint: $0, slots: Array(repeating: Slot(), count: policy.slotsPerEndpoint))
            }
        }

        /// What every mutation keeps true (checked by `assert` after each, in debug builds).
        private func invariantsHold() -> Bool {
            self.nextEndpoint >= 0 && self.nextEndpoint < self.endpoints.count
                && self.endpoints.allSatisfy { endpoint in
                    endpoint.slots.count == self.policy.slotsPerEndpoint
                        && endpoint.nextSlot >= 0 && endpoint.nextSlot < endpoint.slots.count
                        && endpoint.failures >= 0
                        && endpoint.slots.allSatisfy { $0.connection == nil || $0.connecting == nil }
                }
        }

        // MARK: picking a connection

        /// What a caller who wants a connection does next.
        enum Pick {
            /// Use this connection: one call of capacity is reserved on it.
            case ready(Pooled)
            /// Another caller is connecting the chosen slot: wait for that connect, then reserve.
            case wait(Pending)
            /// Connect `endpoint` into `slot`, then report `connectSucceeded` or `connectFailed`;
            /// `pending` (already recorded in the slot) is for the callers that wait meanwhile.
            case connect(SlotID, Endpoint, Pending)
            /// Every admitted connection is at `max_concurrent_calls` and no slot is free: wait
            /// until a call ends (`hasCapacity`), then pick again.
            case full
            /// No connection can be had: fail the call with this error (never sent, so retryable).
            case refuse(ModelwireError)
        }

        /// Picks a connection for one call.
        /// - Parameters:
        ///   - now: The current time.
        ///   - makePending: Makes the handle of a new connect (called only for `.connect`).
        mutating func pick(now: ContinuousClock.Instant, makePending: () -> Pending) -> Pick {
            defer { assert(self.invariantsHold()) }
            guard !self.isClosed else { return .refuse(ModelwireError(.unavailable, "client is shut down")) }
            self.releaseUnusableConnections(now: now)
            guard let e = self.nextAdmittedEndpoint(now: now) else { return .refuse(self.unreachableError(now: now)) }
            let count = self.endpoints.count
            self.nextEndpoint = (e + 1) % count
            let slotCount = self.endpoints[e].slots.count
            var s = self.endpoints[e].nextSlot % slotCount
            self.endpoints[e].nextSlot = (s + 1) % slotCount
            // Prefer the round-robin slot; fall back to any live slot of this endpoint with room
            // under the server's max_concurrent_calls; then connect an empty slot; then refuse.
            var full = false
            for step in 0..<slotCount {
                let index = (s + step) % slotCount
                if let connection = self.endpoints[e].slots[index].connection, connection.isUsable {
                    if connection.tryReserve() { return .ready(connection) }
                    full = true
                }
            }
            if full {
                guard let empty = self.endpoints[e].slots.firstIndex(where: \.isEmpty) else {
                    // Another endpoint with room, else wait for a call to end.
                    for other in self.endpoints where !other.isEjected(at: now) {
                        for slot in other.slots {
                            if let connection = slot.connection, connection.isUsable, connection.tryReserve() {
                                return .ready(connection)
                            }
                        }
                    }
                    return .full
                }
                s = empty
            }
            if let pending = self.endpoints[e].slots[s].connecting { return .wait(pending) }
            let pending = makePending()
            self.endpoints[e].slots[s] = Slot(connection: nil, connecting: pending)
            return .connect(SlotID(endpoint: e, slot: s), self.endpoints[e].endpoint, pending)
        }

        /// A live connection with room for one more call, reserved, taken round-robin as `pick`
        /// takes them; nil when the caller must `pick` (connecting, waiting, closed, or the
        /// round-robin endpoint has no connection with room yet: skipping it would send every call
        /// to the endpoints that connected first). Changes nothing else: the event-loop fast path.
        mutating func readyConnection(now: ContinuousClock.Instant) -> Pooled? {
            guard !self.isClosed, let e = self.nextAdmittedEndpoint(now: now) else { return nil }
            let slotCount = self.endpoints[e].slots.count
            for slotStep in 0..<slotCount {
                let s = (self.endpoints[e].nextSlot + slotStep) % slotCount
                guard let connection = self.endpoints[e].slots[s].connection, connection.isUsable,
                    connection.tryReserve()
                else { continue }
                self.nextEndpoint = (e + 1) % self.endpoints.count
                self.endpoints[e].nextSlot = (s + 1) % slotCount
                return connection
            }
            return nil
        }

        /// Whether a caller waiting after `.full` could now get a connection or a slot to connect
        /// (or must hear that the pool closed).
        func hasCapacity(now: ContinuousClock.Instant) -> Bool {
            self.isClosed
                || self.endpoints.contains { endpoint in
                    !endpoint.isEjected(at: now)
                        && endpoint.slots.contains { slot in
                            guard let connection = slot.connection else { return slot.connecting == nil }
                            return !connection.isUsable || connection.hasCapacity
                        }
                }
        }

        /// Empties the slots of connections that closed or drain. A server that sent GOAWAY is
        /// draining: its endpoint is skipped for a while when there are others.
        private mutating func releaseUnusableConnections(now: ContinuousClock.Instant) {
            let count = self.endpoints.count
            for e in 0..<count {
                for s in 0..<self.endpoints[e].slots.count {
                    guard let connection = self.endpoints[e].slots[s].connection, !connection.isUsable else { continue }
                    self.endpoints[e].slots[s].connection = nil
                    if connection.isDraining, count > 1 {
                        self.endpoints[e].ejectedUntil = now.advanced(by: self.policy.initialEjection)
                        ClientMetrics.shared.ejected()
                        self.endpoints[e].lastFailure = "draining (GOAWAY)"
                    }
                }
            }
        }

        private func nextAdmittedEndpoint(now: ContinuousClock.Instant) -> Int? {
            let count = self.endpoints.count
            for step in 0..<count {
                let index = (self.nextEndpoint + step) % count
                if !self.endpoints[index].isEjected(at: now) { return index }
            }
            return nil
        }

        /// Every endpoint is ejected: say why each is; when the first comes back is the retry hint
        /// (not in the message: a caller that does not retry, like the CLI, makes no next attempt).
        private func unreachableError(now: ContinuousClock.Instant) -> ModelwireError {
            let soonest = self.endpoints.compactMap(\.ejectedUntil).min() ?? now
            let wait = now.duration(to: soonest)
            let ms = UInt32(
                clamping: max(
                    1,
                    wait.components.seconds * 1000
                        + wait.components.attoseconds / 1_000_000_000_000_000
                )
            )
            let names = self.endpoints.map { "\($0.endpoint): \($0.lastFailure ?? "unreachable")" }.joined(
                separator: "; "
            )
            return ModelwireError(
                .unavailable,
                "no reachable server (\(names))",
                retryAfterMilliseconds: ms
            )
        }

        // MARK: connect outcomes

        /// What to do with a connection that just connected.
        enum OnConnected {
            /// Hand it to the connecting caller and the waiters, and wake callers waiting for capacity.
            case use
            /// The pool closed meanwhile: close it, then hand it over as `use` does (calls on it
            /// fail as not sent, and the next pick is refused).
            case closeThenUse
        }

        /// The connect `pick` asked for into `slot` succeeded: the slot holds `connection`, and its
        /// endpoint's failures are forgotten.
        mutating func connectSucceeded(_ slot: SlotID, connection: Pooled) -> OnConnected {
            defer { assert(self.invariantsHold()) }
            self.endpoints[slot.endpoint].slots[slot.slot] = Slot(connection: connection, connecting: nil)
            self.endpoints[slot.endpoint].failures = 0
            self.endpoints[slot.endpoint].ejectedUntil = nil
            return self.isClosed ? .closeThenUse : .use
        }

        /// What to do after a failed connect (in every case: fail its waiters, wake callers waiting for capacity).
        enum OnConnectFailed: Equatable {
            /// The caller's deadline, shorter than the connect timeout, cut the connect short:
            /// the endpoint is not to blame; fail with `deadlineExceeded`.
            case deadlineExceeded
            /// The endpoint is ejected for this long; fail with the connect's error.
            case ejected(for: Duration)
        }

        /// The connect `pick` asked for into `slot` failed.
        /// - Parameters:
        ///   - reason: What went wrong, as the caller's error says it (shown to callers refused while ejected).
        ///   - limit: The limit the connect was given (the first caller's remaining deadline).
        mutating func connectFailed(
            _ slot: SlotID,
            reason: String,
            limit: Duration?,
            now: ContinuousClock.Instant
        ) -> OnConnectFailed {
            defer { assert(self.invariantsHold()) }
            self.endpoints[slot.endpoint].slots[slot.slot].connecting = nil
            if let limit, limit < self.policy.connectTimeout { return .deadlineExceeded }
            self.endpoints[slot.endpoint].failures += 1
            let ejection = self.policy.ejection(afterFailures: self.endpoints[slot.endpoint].failures)
            self.endpoints[slot.endpoint].ejectedUntil = now.advanced(by: ejection)
            ClientMetrics.shared.ejected()
            self.endpoints[slot.endpoint].lastFailure = reason
            return .ejected(for: ejection)
        }

        // MARK: closing

        /// Closes the pool (terminal).
        /// - Returns: The connections to close.
        mutating func close() -> [Pooled] {
            self.isClosed = true
            return self.endpoints.flatMap { $0.slots.compactMap(\.connection) }
        }

        /// Endpoints skipped at `now`.
        func ejectedEndpoints(now: ContinuousClock.Instant) -> [Endpoint] {
            self.endpoints.filter { $0.isEjected(at: now) }.map(\.endpoint)
        }
    }
}

extension ConnectionPool.State.Pick: Sendable where Pooled: Sendable, Pending: Sendable {}
