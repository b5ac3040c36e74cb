import ModelwireCodec
import ModelwireML
import ModelwireProtocol
import NIOCore

/// Dynamic batching of small predicts, confined to one event loop (one batcher per loop).
///
/// Calls for the same model version that arrive while the loop processes one round of reads (on
/// any of its connections) are queued; when the round ends (`execute`, so a lone call never
/// waits) or after `maxQueueDelay`, each queue is computed in one forward pass on this loop and
/// every caller gets its rows back. There is no thread hop anywhere on this path: a 1-row forward
/// pass costs microseconds, a wake-up of another thread ~100 µs on a small VM.
///
/// Calls whose deadline passed while queued are answered deadline_exceeded and not computed;
/// a full queue answers resource_exhausted with a retry hint instead of growing. Answers go to
/// each call's `PredictSink` (its connection), never to a concrete handler type.
final class PredictBatcher {
    /// One queued call.
    struct Item {
        let sink: any PredictSink
        let callID: UInt32
        let rows: [Float]
        let rowCount: Int
        let includeScores: Bool
        let deadline: NIODeadline?
        let enqueued: NIODeadline
        let decodeMicroseconds: UInt32
    }

    private struct Queue {
        let entry: ModelRepository.Entry
        var items: [Item] = []
        var rows = 0
    }

    private let eventLoop: any EventLoop
    private let settings: ServerConfiguration.Batching
    /// One queue per model version, keyed by the repository's entry of that version.
    private var queues: [ObjectIdentifier: Queue] = [:]
    private var flushScheduled = false
    /// Queue depth, batch sizes and rows predicted; nil when metrics are off.
    private let metrics: ServerMetrics?

    init(eventLoop: any EventLoop, settings: ServerConfiguration.Batching, metrics: ServerMetrics? = nil) {
        self.eventLoop = eventLoop
        self.settings = settings
        self.metrics = metrics
    }

    /// Queues a call, or answers it at once when its model's queue is full.
    func enqueue(_ item: Item, entry: ModelRepository.Entry) {
        eventLoop.preconditionInEventLoop()
        let key = ObjectIdentifier(entry)
        var queue = queues[key] ?? Queue(entry: entry)
        guard queue.items.count < settings.maxQueuedCalls else {
            item.sink.finishPredict(
                item.callID,
                .failure(
                    ModelwireError(
                        .resourceExhausted,
                        "the predict queue of \(entry.name) v\(entry.version) is full",
                        retryAfterMilliseconds: UInt32(max(5, settings.maxQueueDelayMicroseconds / 1000))
                    )
                )
            )
            item.sink.flushPredictAnswers()
            return
        }
        queue.items.append(item)
        queue.rows += item.rowCount
        metrics?.queueChanged(by: 1)
        if queue.rows >= settings.maxBatchRows {
            queues[key] = nil  // a full batch is computed now; other models' queues keep waiting for the round's end
            compute(queue)
            flushSinks(of: [queue])
        } else {
            queues[key] = queue
        }
        if !queues.isEmpty, !flushScheduled {
            flushScheduled = true
            let bound = NIOLoopBound(self, eventLoop: eventLoop)
            if settings.maxQueueDelayMicroseconds > 0 {
                eventLoop.scheduleTask(in: .microseconds(Int64(settings.maxQueueDelayMicroseconds))) {
                    bound.value.flush()
                }
            } else {
                eventLoop.execute { bound.value.flush() }
            }
        }
    }

    /// Computes every queue now.
    func flush() {
        flushScheduled = false
        let pending = queues
        queues.removeAll(keepingCapacity: true)
        for queue in pending.values { compute(queue) }
        flushSinks(of: pending.values)
    }

    /// Flushes each connection that had a call in `queues`, once.
    private func flushSinks(of queues: some Sequence<Queue>) {
        var touched: [ObjectIdentifier: any PredictSink] = [:]
        for queue in queues {
            for item in queue.items { touched[ObjectIdentifier(item.sink)] = item.sink }
        }
        for sink in touched.values { sink.flushPredictAnswers() }
    }

    private func compute(_ queue: Queue) {
        metrics?.queueChanged(by: -queue.items.count)
        let now = NIODeadline.now()
        var live: [Item] = []
        live.reserveCapacity(queue.items.count)
        for item in queue.items {
            if let deadline = item.deadline, deadline <= now {
                item.sink.finishPredict(
                    item.callID,
                    .failure(ModelwireError(.deadlineExceeded, "the deadline passed while the call was queued"))
                )
            } else if item.sink.isPredictOpen(item.callID) {
                live.append(item)
            }
        }
        guard !live.isEmpty else { return }
        var rows: [Float]
        if live.count == 1 {
            rows = live[0].rows
        } else {
            rows = []
            rows.reserveCapacity(live.reduce(0) { $0 + $1.rows.count })
            for item in live { rows.append(contentsOf: item.rows) }
        }
        let start = NIODeadline.now()
        let prediction = queue.entry.model.predict(rows)
        let computeMicroseconds = UInt32(clamping: (NIODeadline.now() - start).nanoseconds / 1000)
        let batchRows = UInt32(clamping: rows.count / max(1, queue.entry.model.featureCount))
        metrics?.predicted(batchRows: Int(batchRows))
        var offset = 0
        for item in live {
            let response = PredictResponses.make(
                entry: queue.entry,
                prediction: prediction,
                rowRange: offset..<(offset + item.rowCount),
                includeScores: item.includeScores,
                timings: V1.CallTimings(
                    queueUs: UInt32(clamping: (start - item.enqueued).nanoseconds / 1000),
                    decodeUs: item.decodeMicroseconds,
                    computeUs: computeMicroseconds,
                    batchRows: batchRows
                )
            )
            offset += item.rowCount
            item.sink.finishPredict(item.callID, .success(response))
        }
    }
}

/// Where a batched predict's answer goes: the connection the call came in on. Called on the
/// batcher's event loop only.
protocol PredictSink: AnyObject {
    /// Whether call `callID` still waits for its answer (not cancelled, not timed out).
    func isPredictOpen(_ callID: UInt32) -> Bool
    /// Ends call `callID` with its response or an error.
    func finishPredict(_ callID: UInt32, _ result: Result<V1.PredictResponse, ModelwireError>)
    /// Flushes the answers written since the last flush (once per batch and connection).
    func flushPredictAnswers()
}
