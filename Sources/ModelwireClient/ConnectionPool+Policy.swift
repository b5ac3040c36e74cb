/// What the pool needs to know about one of its connections. `Connection` reads these from
/// atomics the event loop writes (and `tryReserve` is a compare-and-swap), so a call's capacity
/// is taken and given back without the pool's lock; tests pass plain objects.
protocol PooledConnection: AnyObject {
    /// Whether new calls may start here (not draining, not closed).
    var isUsable: Bool { get }
    /// Whether the server sent GOAWAY.
    var isDraining: Bool { get }
    /// Whether another call fits under the server's `max_concurrent_calls`.
    var hasCapacity: Bool { get }
    /// Takes one call's worth of capacity if there is some.
    func tryReserve() -> Bool
}

extension ConnectionPool.State {
    /// The settings the decisions depend on.
    struct Policy: Hashable, Sendable {
        /// Connections kept per endpoint (at least 1).
        var slotsPerEndpoint: Int
        /// How long an endpoint is skipped after its first failed connect (and after GOAWAY).
        var initialEjection: Duration
        /// The longest an endpoint is skipped.
        var maxEjection: Duration
        /// The connect timeout: a connect given a shorter limit (a caller's deadline) that fails
        /// is the caller's failure, not the endpoint's.
        var connectTimeout: Duration

        init(slotsPerEndpoint: Int, initialEjection: Duration, maxEjection: Duration, connectTimeout: Duration) {
            self.slotsPerEndpoint = max(1, slotsPerEndpoint)
            self.initialEjection = initialEjection
            self.maxEjection = maxEjection
            self.connectTimeout = connectTimeout
        }

        init(_ configuration: ModelwireClient.Configuration) {
            self.init(
                slotsPerEndpoint: configuration.connectionsPerEndpoint,
                initialEjection: configuration.initialEjection,
                maxEjection: configuration.maxEjection,
                connectTimeout: configuration.connectTimeout
            )
        }

        /// How long an endpoint is skipped after `failures` consecutive failed connects:
        /// `initialEjection * 2^(failures-1)`, capped at `maxEjection`.
        func ejection(afterFailures failures: Int) -> Duration {
            var delay = self.initialEjection
            for _ in 1..<max(1, failures) {
                delay *= 2
                if delay >= self.maxEjection { return self.maxEjection }
            }
            return min(delay, self.maxEjection)
        }
    }
}
