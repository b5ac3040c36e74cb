import ModelwireCodec
import ModelwireProtocol
import NIOCore

/// A call's deadline as an instant on the continuous clock, shared by every attempt of the call.
struct Deadline: Sendable {
    let instant: ContinuousClock.Instant?

    init(timeout: Duration?) {
        self.instant = timeout.map { ContinuousClock.now.advanced(by: $0) }
    }

    /// The time left, as sent in the REQUEST header and armed as the local timer.
    struct Remaining: Sendable {
        let duration: Duration?

        /// The REQUEST header's `timeout ms`: 0 = none; otherwise at least 1.
        var wireMilliseconds: UInt32 {
            guard let duration else { return 0 }
            let (seconds, attoseconds) = duration.components
            let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
            return UInt32(clamping: max(1, ms))
        }

        var timeAmount: TimeAmount? { self.duration.map(TimeAmount.init) }
    }

    /// The time left now.
    /// - Throws: `ModelwireError.deadlineExceeded` when none is left.
    func remaining() throws -> Remaining {
        guard let instant else { return Remaining(duration: nil) }
        let left = ContinuousClock.now.duration(to: instant)
        guard left > .zero else {
            throw ModelwireError(.deadlineExceeded, "deadline exceeded before the call was sent")
        }
        return Remaining(duration: left)
    }

    /// Whether waiting `delay` from now would pass the deadline.
    func wouldExpire(after delay: Duration) -> Bool {
        guard let instant else { return false }
        return ContinuousClock.now.advanced(by: delay) >= instant
    }
}
