import ModelwireCodec
public import ModelwireProtocol

/// When a failed call is tried again (PROTOCOL.md §9): only where it is safe.
///
/// - A request that never reached a server (connect failed, endpoint ejected, connection closed
///   before the write) is retried for any method.
/// - Idempotent methods (`MethodDescriptor.idempotent`) are retried on `unavailable`.
/// - Any method is retried on `resourceExhausted` or `unavailable` that carries a
///   `retry_after_ms` hint. The hint is a lower bound (PROTOCOL.md §9): the wait is the larger
///   of the hint and the growing backoff; a hint above `maxBackoff` is not waited for (the
///   error goes to the caller, hint included).
/// - Nothing else is retried, attempts are bounded, and no retry is started that the call's
///   deadline would cut short.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included. 1 disables retries.
    public var maxAttempts: Int
    /// The wait before the first retry without a server hint; doubled each time.
    public var initialBackoff: Duration
    /// The longest wait between attempts (hints above it are honoured up to it).
    public var maxBackoff: Duration

    /// Creates a policy.
    public init(maxAttempts: Int = 3, initialBackoff: Duration = .milliseconds(50), maxBackoff: Duration = .seconds(5))
    {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    /// Three attempts, waits of 50 ms then 100 ms (or the server's hint when longer, up to 5 s).
    public static let defaults = RetryPolicy()
    /// Never retry.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// The wait before trying again, or nil to give up.
    /// - Parameters:
    ///   - error: Why attempt `attempt` failed.
    ///   - attempt: The attempt that failed, from 1.
    ///   - idempotent: Whether the method may run twice.
    ///   - requestSent: Whether the request may have reached a server.
    /// - Returns: The delay before the next attempt, or nil.
    public func delay(after error: ModelwireError, attempt: Int, idempotent: Bool, requestSent: Bool) -> Duration? {
        guard attempt < self.maxAttempts else { return nil }
        if let hint = error.retryAfterMilliseconds, error.code == .resourceExhausted || error.code == .unavailable {
            let floor = Duration.milliseconds(Int64(hint))
            guard floor <= self.maxBackoff else { return nil }
            return max(floor, self.backoff(attempt: attempt))
        }
        if !requestSent || (idempotent && error.code == .unavailable) {
            return self.backoff(attempt: attempt)
        }
        return nil
    }

    /// Exponential backoff without a hint: `initialBackoff * 2^(attempt-1)`, capped.
    public func backoff(attempt: Int) -> Duration {
        var delay = self.initialBackoff
        for _ in 1..<max(1, attempt) {
            delay *= 2
            if delay >= self.maxBackoff { return self.maxBackoff }
        }
        return min(delay, self.maxBackoff)
    }
}
