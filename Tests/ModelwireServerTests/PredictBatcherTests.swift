import ModelwireCodec
import ModelwireML
import ModelwireProtocol
import NIOCore
import NIOEmbedded
import Testing

@testable import ModelwireServer

/// `PredictBatcher` on an embedded event loop, answering through a recording sink.
@Suite("PredictBatcher")
struct PredictBatcherTests {
    /// Records every answer and flush; calls are open until answered or closed by the test.
    final class RecordingSink: PredictSink {
        var answers: [UInt32: Result<V1.PredictResponse, ModelwireError>] = [:]
        var closed: Set<UInt32> = []
        var flushes = 0

        func isPredictOpen(_ callID: UInt32) -> Bool { !closed.contains(callID) && answers[callID] == nil }
        func finishPredict(_ callID: UInt32, _ result: Result<V1.PredictResponse, ModelwireError>) {
            #expect(answers[callID] == nil, "call \(callID) answered twice")
            answers[callID] = result
        }
        func flushPredictAnswers() { flushes += 1 }
    }

    static func item(
        _ sink: RecordingSink,
        _ id: UInt32,
        rows: [Float],
        deadline: NIODeadline? = nil
    ) -> PredictBatcher.Item {
        PredictBatcher.Item(
            sink: sink,
            callID: id,
            rows: rows,
            rowCount: rows.count / 2,
            includeScores: false,
            deadline: deadline,
            enqueued: .now(),
            decodeMicroseconds: 0
        )
    }

    static func settings(maxBatchRows: Int = 256, maxQueuedCalls: Int = 1024) -> ServerConfiguration.Batching {
        ServerConfiguration.Batching(
            maxBatchRows: maxBatchRows,
            maxQueueDelayMicroseconds: 0,
            maxQueuedCalls: maxQueuedCalls,
            inlineMaxRows: 64
        )
    }

    @Test("calls of one round are computed in one batch; each gets its own rows back; one flush per connection")
    func oneBatchPerRound() throws {
        let loop = EmbeddedEventLoop()
        let entry = try Fixtures.entry()
        let batcher = PredictBatcher(eventLoop: loop, settings: Self.settings())
        let sink = RecordingSink()
        let first: [Float] = [0, 0, 0.9, 0.9]
        let second: [Float] = [1, 1]
        batcher.enqueue(Self.item(sink, 1, rows: first), entry: entry)
        batcher.enqueue(Self.item(sink, 3, rows: second), entry: entry)
        #expect(sink.answers.isEmpty)  // nothing before the round ends
        loop.run()
        let one = try #require(try sink.answers[1]?.get())
        let three = try #require(try sink.answers[3]?.get())
        #expect(one.classIds == entry.model.predict(first).classIDs.map { UInt32($0) })
        #expect(three.classIds == entry.model.predict(second).classIDs.map { UInt32($0) })
        #expect(one.timings?.batchRows == 3 && three.timings?.batchRows == 3)
        #expect(sink.flushes == 1)
    }

    @Test("a call whose deadline passed in the queue is answered deadline_exceeded; a closed call gets nothing")
    func deadlinesAndClosedCalls() throws {
        let loop = EmbeddedEventLoop()
        let batcher = PredictBatcher(eventLoop: loop, settings: Self.settings())
        let entry = try Fixtures.entry()
        let sink = RecordingSink()
        batcher.enqueue(Self.item(sink, 1, rows: [0, 0], deadline: .now() - .milliseconds(1)), entry: entry)
        batcher.enqueue(Self.item(sink, 2, rows: [0, 0]), entry: entry)
        batcher.enqueue(Self.item(sink, 4, rows: [1, 1]), entry: entry)
        sink.closed.insert(2)
        loop.run()
        guard case .failure(let expired)? = sink.answers[1] else {
            Issue.record("call 1 was computed")
            return
        }
        #expect(expired.code == .deadlineExceeded)
        #expect(sink.answers[2] == nil)
        #expect((try? sink.answers[4]?.get())?.timings?.batchRows == 1)
    }

    @Test("a full queue answers resource_exhausted with a retry hint instead of growing")
    func fullQueue() throws {
        let loop = EmbeddedEventLoop()
        let batcher = PredictBatcher(eventLoop: loop, settings: Self.settings(maxQueuedCalls: 1))
        let entry = try Fixtures.entry()
        let sink = RecordingSink()
        batcher.enqueue(Self.item(sink, 1, rows: [0, 0]), entry: entry)
        batcher.enqueue(Self.item(sink, 2, rows: [0, 0]), entry: entry)
        guard case .failure(let error)? = sink.answers[2] else {
            Issue.record("call 2 was queued")
            return
        }
        #expect(error.code == .resourceExhausted)
        #expect((error.retryAfterMilliseconds ?? 0) >= 5)
        loop.run()
        #expect((try? sink.answers[1]?.get()) != nil)
    }

    @Test("a queue that reaches max_batch_rows is computed at once; another model's queue waits for the round's end")
    func fullBatchComputesOnlyItsQueue() throws {
        let loop = EmbeddedEventLoop()
        let batcher = PredictBatcher(eventLoop: loop, settings: Self.settings(maxBatchRows: 2))
        let a = try Fixtures.entry(name: "a")
        let b = try Fixtures.entry(name: "b")
        let sink = RecordingSink()
        batcher.enqueue(Self.item(sink, 1, rows: [0, 0]), entry: b)
        batcher.enqueue(Self.item(sink, 2, rows: [0, 0]), entry: a)
        batcher.enqueue(Self.item(sink, 3, rows: [1, 1]), entry: a)  // a reaches 2 rows
        #expect(sink.answers[2] != nil && sink.answers[3] != nil)
        #expect(sink.answers[1] == nil)
        loop.run()
        #expect(sink.answers[1] != nil)
    }
}
