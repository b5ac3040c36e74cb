import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import Testing

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(50), maxBackoff: .seconds(1))

    @Test("idempotent methods are retried on unavailable, with exponential backoff")
    func idempotentUnavailable() {
        let error = ModelwireError(.unavailable, "gone")
        #expect(policy.delay(after: error, attempt: 1, idempotent: true, requestSent: true) == .milliseconds(50))
        #expect(policy.delay(after: error, attempt: 2, idempotent: true, requestSent: true) == .milliseconds(100))
        #expect(policy.delay(after: error, attempt: 3, idempotent: true, requestSent: true) == nil)  // bounded
    }

    @Test("non-idempotent methods are not retried on unavailable without a hint")
    func nonIdempotentUnavailable() {
        let error = ModelwireError(.unavailable, "gone")
        #expect(policy.delay(after: error, attempt: 1, idempotent: false, requestSent: true) == nil)
    }

    @Test("any method is retried on a hint, waiting at least the hint and a growing backoff")
    func hints() {
        let full = ModelwireError(.resourceExhausted, "queue full", retryAfterMilliseconds: 20)
        #expect(policy.delay(after: full, attempt: 1, idempotent: false, requestSent: true) == .milliseconds(50))
        #expect(policy.delay(after: full, attempt: 2, idempotent: false, requestSent: true) == .milliseconds(100))
        let slow = ModelwireError(.resourceExhausted, "queue full", retryAfterMilliseconds: 300)
        #expect(policy.delay(after: slow, attempt: 1, idempotent: false, requestSent: true) == .milliseconds(300))
        let draining = ModelwireError(.unavailable, "draining", retryAfterMilliseconds: 0)
        #expect(policy.delay(after: draining, attempt: 1, idempotent: false, requestSent: true) == .milliseconds(50))
        let huge = ModelwireError(.resourceExhausted, "later", retryAfterMilliseconds: 60_000)
        #expect(policy.delay(after: huge, attempt: 1, idempotent: true, requestSent: true) == nil)  // beyond maxBackoff
    }

    @Test("resource_exhausted without a hint is a limit, not a retry", arguments: [true, false])
    func exhaustedWithoutHint(idempotent: Bool) {
        let error = ModelwireError(.resourceExhausted, "frame too large")
        #expect(policy.delay(after: error, attempt: 1, idempotent: idempotent, requestSent: true) == nil)
    }

    @Test(
        "call errors are never retried",
        arguments: [
            V1.StatusCode.invalidArgument, .notFound, .alreadyExists, .failedPrecondition, .internal, .deadlineExceeded,
            .cancelled,
        ]
    )
    func callErrors(code: V1.StatusCode) {
        let error = ModelwireError(code, "no")
        #expect(policy.delay(after: error, attempt: 1, idempotent: true, requestSent: true) == nil)
    }

    @Test("a request that never left is retried whatever the method")
    func notSent() {
        let error = ModelwireError(.unavailable, "connection refused")
        #expect(policy.delay(after: error, attempt: 1, idempotent: false, requestSent: false) == .milliseconds(50))
    }

    @Test("backoff is capped and .none never retries")
    func capAndNone() {
        #expect(policy.backoff(attempt: 10) == .seconds(1))
        let error = ModelwireError(.unavailable, "gone")
        #expect(RetryPolicy.none.delay(after: error, attempt: 1, idempotent: true, requestSent: false) == nil)
    }
}
