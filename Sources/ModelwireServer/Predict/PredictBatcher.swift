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
/// a full queue answers resource_exhausted with a retry hint instead of growing.
final class PredictBatcher {
    /// One queued call.
    struct Item {
        let connection: ServerConnectionHandler
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

    init(eventLoop: any EventLoop, settings: ServerConfiguration.Batching) {
        self.eventLoop = eventLoop
        self.settings = settings
    }

    /// Queues a call, or answers it at once when its model's queue is full.
    func enqueue(_ item: Item, entry: ModelRepository.Entry) {
        eventLoop.preconditionInEventLoop()
        let key = ObjectIdentifier(entry)
        var queue = queues[key] ?? Queue(entry: entry)
        guard queue.items.count < settings.maxQueuedCalls else {
            item.connection.finishPredict(
                item.callID,
                .failure(ModelwireError(.resourceExhausted, "the predict queue of \(entry.name) v\(entry.version) is full",
                                        retryAfterMilliseconds: UInt32(max(5, settings.maxQueueDelayMicroseconds / 1000)))))
            item.connection.flushIfNeeded()
            return
        }
        queue.items.append(item)
        queue.rows += item.rowCount
        queues[key] = queue
        if queue.rows >= settings.maxBatchRows {
            flush()
        } else if !flushScheduled {
            flushScheduled = true
            let bound = NIOLoopBound(self, eventLoop: eventLoop)
            if settings.maxQueueDelayMicroseconds > 0 {
                eventLoop.scheduleTask(in: .microseconds(Int64(settings.maxQueueDelayMicroseconds))) { bound.value.flush() }
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
        var touched: [ObjectIdentifier: ServerConnectionHandler] = [:]
        for queue in pending.values {
            compute(queue)
            for item in queue.items { touched[ObjectIdentifier(item.connection)] = item.connection }
        }
        for connection in touched.values { connection.flushIfNeeded() }
    }

    private func compute(_ queue: Queue) {
        let now = NIODeadline.now()
        var live: [Item] = []
        live.reserveCapacity(queue.items.count)
        for item in queue.items {
            if let deadline = item.deadline, deadline <= now {
                item.connection.finishPredict(item.callID, .failure(ModelwireError(.deadlineExceeded, "the deadline passed while the call was queued")))
            } else if item.connection.isOpen(item.callID) {
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
        var offset = 0
        for item in live {
            let response = PredictResponses.make(
                entry: queue.entry, prediction: prediction, rowRange: offset..<(offset + item.rowCount),
                includeScores: item.includeScores,
                timings: V1.CallTimings(queueUs: UInt32(clamping: (start - item.enqueued).nanoseconds / 1000),
                                        decodeUs: item.decodeMicroseconds, computeUs: computeMicroseconds, batchRows: batchRows))
            offset += item.rowCount
            item.connection.finishPredict(item.callID, .success(response))
        }
    }
}

/// Builds PredictResponses from a (possibly batched) prediction.
enum PredictResponses {
    /// The response for `rowRange` of `prediction`.
    static func make(entry: ModelRepository.Entry, prediction: Prediction, rowRange: Range<Int>, includeScores: Bool,
                     timings: V1.CallTimings) -> V1.PredictResponse {
        var response = V1.PredictResponse(model: entry.name, version: entry.version, classNames: entry.model.snapshot.classNames,
                                          timings: timings)
        if prediction.values.isEmpty {
            response.classIds = prediction.classIDs[rowRange].map { UInt32($0) }
            if includeScores, let scores = prediction.scores {
                let columns = scores.columns
                response.scores = V1.Tensor(columns: UInt32(columns),
                                            values: Array(scores.values[(rowRange.lowerBound * columns)..<(rowRange.upperBound * columns)]))
                response.scoresAreProbabilities = prediction.areProbabilities
            }
        } else {
            response.values = Array(prediction.values[rowRange])
        }
        return response
    }
}
