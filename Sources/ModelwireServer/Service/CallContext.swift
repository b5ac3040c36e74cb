import ModelwireCodec
import ModelwireProtocol
import Synchronization

/// What a method body may ask about its own call: whether it should stop because the call was
/// cancelled (CANCEL, disconnect) or its deadline passed. Long bodies (evaluation, large
/// predicts, dataset assembly) call `checkActive()` between chunks of work, so a client that
/// gave up frees the server's work.
final class CallContext: Sendable {
    /// When the call's deadline passes, if it has one.
    let deadline: ContinuousClock.Instant?
    private let cancelledFlag = Atomic<Bool>(false)

    /// A context with a deadline `timeoutMilliseconds` from now (0 = none).
    init(timeoutMilliseconds: UInt32) {
        self.deadline = timeoutMilliseconds == 0 ? nil : .now + .milliseconds(timeoutMilliseconds)
    }

    /// A context without a deadline that is never cancelled, shared by the bodies that run on
    /// the event loop (they answer before anything could cancel them).
    static let detached = CallContext(timeoutMilliseconds: 0)

    /// Marks the call cancelled (the connection does this on CANCEL, timeout or close).
    func cancel() { cancelledFlag.store(true, ordering: .relaxed) }

    /// Whether the call was cancelled.
    var isCancelled: Bool { cancelledFlag.load(ordering: .relaxed) }

    /// Throws when the call should stop.
    /// - Throws: `ModelwireError` cancelled or deadline_exceeded.
    func checkActive() throws(ModelwireError) {
        if isCancelled { throw ModelwireError(.cancelled, "the call was cancelled") }
        if let deadline, ContinuousClock.now >= deadline {
            throw ModelwireError(.deadlineExceeded, "the call's deadline passed")
        }
    }
}
