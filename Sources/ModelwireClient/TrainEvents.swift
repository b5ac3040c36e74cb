public import ModelwireCodec
import ModelwireProtocol
import NIOCore

/// The events of a Train or WatchJob call: `accepted` (Train only) with the job id, `progress`
/// events, then the `result`. The sequence ends after the result; a failed job throws its
/// `ModelwireError`. Ending the iteration early (break, task cancelled) sends CANCEL, which
/// detaches from the job without stopping it (use `cancelJob` for that); a cancelled iteration
/// throws `cancelled`.
public struct TrainEvents: AsyncSequence, Sendable {
    public typealias Element = V1.TrainEvent
    let frames: AsyncThrowingStream<Frame, any Error>
    let codec: FramePayloadCodec

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: self.frames.makeAsyncIterator(), codec: self.codec)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<Frame, any Error>.AsyncIterator
        let codec: FramePayloadCodec
        var ended = false

        public mutating func next() async throws -> V1.TrainEvent? {
            guard !self.ended else { return nil }
            guard let frame = try await self.base.next() else {
                self.ended = true
                throw ModelwireError(.cancelled, "stream cancelled")
            }
            if frame.flags.contains(.endStream) {
                self.ended = true
                if frame.payload.readableBytes == 0 { return nil }
            }
            return try ModelwireClient.decode(frame, as: V1.TrainEvent.self, codec: self.codec)
        }
    }
}

@available(*, unavailable)
extension TrainEvents.AsyncIterator: Sendable {}
