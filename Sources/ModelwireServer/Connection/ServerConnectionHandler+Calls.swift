import Logging
import ModelwireCodec
import ModelwireProtocol
import NIOCore
import NIOPosix

/// How the handler serves a call once the state machine opened it: each body of
/// `ServiceMethod` where it runs (the event loop, the worker pool, a job's event stream, an
/// upload), and the predict hot path through the loop's batcher.
extension ServerConnectionHandler {

    func serve(_ method: ServiceMethod, _ frame: Frame) {
        let id = frame.callID
        do {
            switch method.body {
            case .predict:
                predict(frame)
            case .unary(.eventLoop, let prepare):
                let (request, work) = try prepare(service, frame, codec)
                callDecoded(id, request)
                finish(id, Result { try work(.detached) }.mapError(map(id, method)))
            case .unary(.workerPool, let prepare):
                let (request, work) = try prepare(service, frame, codec)
                callDecoded(id, request)
                runOnWorkers(id, method, resources: startResources(frame)) { call in try work(call) }
            case .jobStream(let prepare):
                let (request, subscribe) = try prepare(service, frame, codec)
                callDecoded(id, request)
                state.setCall(id, startResources(frame))
                try subscribeToJob(id, subscribe)
            case .datasetUpload:
                let first = try ServiceMethod.decode(
                    frame,
                    V1.UploadDatasetRequest.self,
                    codec,
                    metrics: service.metrics
                )
                callDecoded(id, first)
                var resources = startResources(frame)
                resources.upload = try service.startUpload(first)
                state.setCall(id, resources)
                try appendChunk(id, first, frame: frame)
            }
        } catch {
            fail(id, map(id, method)(error))
        }
    }

    /// A call's resources at its start: the deadline timer (failing the call when it fires) and
    /// the context that tells its work to stop.
    private func startResources(_ frame: Frame) -> CallResources {
        let id = frame.callID
        let call = CallContext(timeoutMilliseconds: frame.timeoutMilliseconds)
        var resources = CallResources(context: call)
        if frame.timeoutMilliseconds > 0, let context {
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            resources.deadlineTimer = context.eventLoop.scheduleTask(
                in: .milliseconds(Int64(frame.timeoutMilliseconds))
            ) {
                bound.value.fail(id, ModelwireError(.deadlineExceeded, "the call's deadline passed"))
                bound.value.flushIfNeeded()
            }
        }
        return resources
    }

    /// Runs `work` on the worker pool and answers call `id` on this loop.
    private func runOnWorkers(
        _ id: UInt32,
        _ method: ServiceMethod,
        resources: CallResources,
        _ work: @escaping @Sendable (CallContext) throws -> any ProtobufMessage
    ) {
        guard let context, let call = resources.context else { return }
        state.setCall(id, resources)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let mapping = map(id, method)
        workers.runIfActive(eventLoop: context.eventLoop) { try work(call) }.whenComplete { result in
            bound.value.finish(id, result.mapError(mapping))
            bound.value.flushIfNeeded()
        }
    }

    /// The error policy of this connection's calls (`ModelwireError(mapping:)`).
    private func map(_ id: UInt32, _ method: ServiceMethod) -> @Sendable (any Error) -> ModelwireError {
        let logger = self.logger
        let name = method.descriptor.name
        return { ModelwireError(mapping: $0, logger: logger, operation: "call \(id) (\(name))") }
    }

    /// Streams a job's events to call `id` (Train and WatchJob); CANCEL or disconnect only detach.
    private func subscribeToJob(_ id: UInt32, _ subscribe: ServiceMethod.Subscription) throws {
        guard let context else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        let subscriber: JobManager.Subscriber = { event, error, finished in
            loop.execute {
                let handler = bound.value
                guard handler.state.isOpen(id) else { return }
                if let error {
                    handler.fail(id, error)
                } else if let event {
                    if finished {
                        handler.finish(id, .success(event))
                    } else {
                        handler.writeMessage(id, event, endStream: false)
                    }
                }
                handler.flushIfNeeded()
            }
        }
        let subscription = try subscribe(subscriber)
        _ = state.withCall(id) { $0?.subscription = subscription }
    }

    /// Adds an upload chunk to open call `id`; the last one stores the dataset on the worker pool.
    func appendChunk(_ id: UInt32, _ chunk: V1.UploadDatasetRequest, frame: Frame) throws(ModelwireError) {
        // Taken out of the table while it grows, so that appending never copies the rows so far.
        guard
            var upload = state.withCall(
                id,
                { call in
                    defer { call?.upload = nil }
                    return call?.upload
                }
            ) ?? nil
        else { return }
        try upload.append(chunk, payloadBytes: frame.payload.readableBytes)
        guard frame.flags.contains(.endStream) else {
            _ = state.withCall(id) { $0?.upload = upload }
            return
        }
        guard let resources = state.withCall(id, { $0 }) ?? nil else { return }
        let service = self.service
        let finished = upload
        runOnWorkers(id, Self.uploadMethod, resources: resources) { call in try service.saveUpload(finished, call) }
    }

    // MARK: - Predict

    func predict(_ frame: Frame) {
        let start = NIODeadline.now()
        let id = frame.callID
        do {
            let request = try ServiceMethod.decode(frame, V1.PredictRequest.self, codec, metrics: service.metrics)
            callDecoded(frame.callID, request)
            let prepared = try service.preparePredict(request)
            let decodeMicroseconds = UInt32(clamping: (NIODeadline.now() - start).nanoseconds / 1000)
            if prepared.rowCount <= service.configuration.batching.inlineMaxRows {
                let deadline =
                    frame.timeoutMilliseconds == 0 ? nil : start + .milliseconds(Int64(frame.timeoutMilliseconds))
                batcher.enqueue(
                    PredictBatcher.Item(
                        sink: self,
                        callID: id,
                        rows: prepared.rows,
                        rowCount: prepared.rowCount,
                        includeScores: prepared.includeScores,
                        deadline: deadline,
                        enqueued: start,
                        decodeMicroseconds: decodeMicroseconds
                    ),
                    entry: prepared.entry
                )
            } else {
                offloadPredict(id, prepared, frame: frame, decodeMicroseconds: decodeMicroseconds)
            }
        } catch {
            fail(id, error)
        }
    }

    /// A large predict: computed on the worker pool (split over threads), answered on this loop.
    private func offloadPredict(
        _ id: UInt32,
        _ prepared: ModelService.PreparedPredict,
        frame: Frame,
        decodeMicroseconds: UInt32
    ) {
        guard let context else { return }
        let call = CallContext(timeoutMilliseconds: frame.timeoutMilliseconds)
        state.setCall(id, CallResources(context: call))
        let threads = prepared.rowCount >= 1024 ? service.configuration.eventLoopThreads : 1
        let enqueued = NIODeadline.now()
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let service = self.service
        let logger = self.logger
        workers.runIfActive(eventLoop: context.eventLoop) { () throws(ModelwireError) -> V1.PredictResponse in
            let queued = UInt32(clamping: (NIODeadline.now() - enqueued).nanoseconds / 1000)
            return try service.predict(
                prepared,
                threads: threads,
                timings: V1.CallTimings(queueUs: queued, decodeUs: decodeMicroseconds),
                call
            )
        }.whenComplete { result in
            bound.value.finishPredict(
                id,
                result.mapError { ModelwireError(mapping: $0, logger: logger, operation: "call \(id) (Predict)") }
            )
            bound.value.flushIfNeeded()
        }
    }
}
