import Logging
import ModelwireCodec
import ModelwireData
import ModelwireML
import ModelwireProtocol
import NIOCore
import NIOPosix

/// Serves one connection: handshake, call table, dispatch, keepalive and drain (PROTOCOL.md).
///
/// Runs on the connection's event loop. Small predicts are answered on this loop through the
/// loop's `PredictBatcher` (no thread hop); blocking work (disk, evaluation, large predicts)
/// goes to the worker pool and comes back here to be written; training runs in `JobManager`.
/// Responses are written as they are ready and flushed once per read round.
final class ServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    /// Signals a graceful drain (sent through the pipeline by `ModelServer`).
    struct DrainEvent: Sendable {}

    private enum Phase {
        /// Waiting for the client's HELLO. Next: ready, or closed on a bad hello.
        case awaitingHello
        /// Serving calls. Next: draining or closed.
        case ready
        /// GOAWAY sent: open calls finish, new ones are refused. Next: closed when no call is open.
        case draining
        /// Terminal.
        case closed
    }

    /// A call that has been opened and has not ended.
    private struct OpenCall {
        let method: V1.Method
        var upload: Upload?
        var subscription: (job: String, id: UInt64)?
        var deadlineTimer: Scheduled<Void>?
    }

    /// A client-streaming upload being received.
    private struct Upload {
        var name: String
        var replace: Bool
        var dataset = V1.Dataset()
        var bytes = 0
    }

    private let server: ServerContext
    private let batcher: PredictBatcher
    private var logger: Logger
    private var phase = Phase.awaitingHello
    private var codec: FramePayloadCodec
    private var calls: [UInt32: OpenCall] = [:]
    private var highestCallID: UInt32 = 0
    private var context: ChannelHandlerContext?
    private var needsFlush = false
    private var handshakeTimer: Scheduled<Void>?

    init(server: ServerContext, batcher: PredictBatcher, logger: Logger) {
        self.server = server
        self.batcher = batcher
        self.logger = logger
        self.codec = FramePayloadCodec(limits: server.configuration.limits, peerAcceptsZlib: false)
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.logger[metadataKey: "modelwire.peer"] = "\(context.remoteAddress.map { "\($0)" } ?? "?")"
        let timeout = TimeAmount.milliseconds(Int64(server.configuration.handshakeTimeoutMilliseconds))
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        handshakeTimer = context.eventLoop.scheduleTask(in: timeout) {
            bound.value.failConnection(ModelwireError(.deadlineExceeded, "no HELLO within \(timeout.nanoseconds / 1_000_000) ms"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeTimer?.cancel()
        for (_, call) in calls { release(call) }
        calls.removeAll()
        phase = .closed
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch (phase, frame.kind) {
        case (.closed, _):
            return
        case (.awaitingHello, .hello):
            handshake(frame)
        case (.awaitingHello, _):
            failConnection(ModelwireError(.invalidArgument, "the first frame must be HELLO, got \(frame.kind)"))
        case (_, .request):
            openCall(frame)
        case (_, .message):
            continueUpload(frame)
        case (_, .cancel):
            if let call = calls.removeValue(forKey: frame.callID) { release(call) }
        case (_, .ping):
            guard frame.payload.readableBytes <= 8 else {
                return failConnection(ModelwireError(.invalidArgument, "a PING carries at most 8 bytes"))
            }
            var pong = ByteBuffer()
            pong.writeFrame(Frame(kind: .pong, payload: frame.payload))
            write(pong)
        case (_, .pong):
            return
        default:
            failConnection(ModelwireError(.invalidArgument, "a client may not send \(frame.kind) frames"))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushIfNeeded()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let wire = error as? WireError {
            logger.debug("framing error: \(wire)")
            failConnection(ModelwireError(status: wire.status))
        } else if let decoderError = error as? ByteToMessageDecoderError {
            failConnection(ModelwireError(.invalidArgument, "framing error: \(decoderError)"))
        } else {
            logger.debug("connection error: \(error)")
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is DrainEvent {
            drain()
        } else if event is IdleStateHandler.IdleStateEvent {
            logger.debug("closing idle connection")
            drain()
            if calls.isEmpty { context.close(promise: nil) }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    // MARK: - Handshake, drain, close

    private func handshake(_ frame: Frame) {
        handshakeTimer?.cancel()
        do {
            let hello: V1.ClientHello
            do { hello = try codec.decode(frame, as: V1.ClientHello.self) } catch {
                throw ModelwireError(status: error.status)
            }
            let (answer, zlib) = try Handshake.negotiate(hello, limits: server.configuration.limits,
                                                         serverName: "\(server.configuration.serverName)/\(server.configuration.serverVersion)")
            codec.peerAcceptsZlib = zlib
            logger[metadataKey: "modelwire.client"] = "\(hello.clientName)"
            var buffer = ByteBuffer()
            try codec.writeFrame(answer, kind: .hello, into: &buffer)
            write(buffer)
            phase = server.isDraining ? .draining : .ready
            if phase == .draining { sendGoAway() }
        } catch let error as ModelwireError {
            failConnection(error)
        } catch {
            failConnection(ModelwireError(.internal, "handshake failed"))
        }
    }

    /// Sends an ERROR on call 0 and closes the connection.
    private func failConnection(_ error: ModelwireError) {
        guard phase != .closed, let context else { return }
        phase = .closed
        var buffer = ByteBuffer()
        try? codec.writeFrame(error.status, kind: .error, into: &buffer)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
    }

    private func drain() {
        guard phase == .ready || phase == .awaitingHello else { return }
        if phase == .awaitingHello {
            context?.close(promise: nil)
            return
        }
        phase = .draining
        sendGoAway()
        closeIfDrained()
    }

    private func sendGoAway() {
        var buffer = ByteBuffer()
        try? codec.writeFrame(V1.GoAway(lastCallId: highestCallID, reason: "the server is shutting down"), kind: .goAway,
                              into: &buffer)
        write(buffer)
        flushIfNeeded()
    }

    private func closeIfDrained() {
        if phase == .draining, calls.isEmpty { flushIfNeeded(); context?.close(promise: nil) }  // close drops unflushed writes
    }

    // MARK: - Calls

    private func openCall(_ frame: Frame) {
        let id = frame.callID
        guard id != 0 else { return failConnection(ModelwireError(.invalidArgument, "REQUEST on call id 0")) }
        guard calls[id] == nil else { return failConnection(ModelwireError(.invalidArgument, "call id \(id) is already open")) }
        highestCallID = max(highestCallID, id)
        guard phase == .ready else {
            return writeError(id, ModelwireError(.unavailable, "the server is draining; reconnect", retryAfterMilliseconds: 0))
        }
        guard let descriptor = MethodDescriptor.lookup(frame.method) else {
            return writeError(id, ModelwireError(.unimplemented, "unknown method id 0x\(String(frame.method, radix: 16))"))
        }
        guard calls.count < server.configuration.limits.maxConcurrentCalls else {
            return writeError(id, ModelwireError(.resourceExhausted,
                                                 "more than \(server.configuration.limits.maxConcurrentCalls) calls open on this connection",
                                                 retryAfterMilliseconds: 1))
        }
        let deadline: NIODeadline? = frame.timeoutMilliseconds == 0 ? nil : .now() + .milliseconds(Int64(frame.timeoutMilliseconds))
        calls[id] = OpenCall(method: descriptor.method)
        if descriptor.method == .predict {
            return predict(frame, deadline: deadline)  // the hot path: no timer, no allocation beyond the call
        }
        if let deadline, let context {
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            calls[id]?.deadlineTimer = context.eventLoop.scheduleTask(deadline: deadline) {
                bound.value.fail(id, ModelwireError(.deadlineExceeded, "the call's deadline passed"))
                bound.value.flushIfNeeded()
            }
        }
        dispatch(descriptor.method, frame)
    }

    private func predict(_ frame: Frame, deadline: NIODeadline?) {
        let start = NIODeadline.now()
        let request: V1.PredictRequest
        do { request = try codec.decode(frame, as: V1.PredictRequest.self) } catch {
            return fail(frame.callID, ModelwireError(status: error.status))
        }
        do {
            let entry = try server.repository.resolve(request.model)
            let inputs = request.inputs ?? V1.Tensor()
            let columns = entry.model.featureCount
            guard Int(inputs.columns) == columns, inputs.values.count % columns == 0, !inputs.values.isEmpty else {
                throw ModelwireError(.invalidArgument,
                                     "model \(entry.name) v\(entry.version) expects \(columns) features per row, got \(inputs.columns) columns and \(inputs.values.count) values")
            }
            let rows = inputs.values.count / columns
            guard rows <= server.configuration.limits.maxRowsPerPredict else {
                throw ModelwireError(.resourceExhausted, "\(rows) rows exceed the limit of \(server.configuration.limits.maxRowsPerPredict) per call")
            }
            if let bad = Self.firstNonFinite(inputs.values) {
                throw ModelwireError(.invalidArgument, "row \(bad / columns + 1), feature \(bad % columns + 1) is NaN or infinite")
            }
            let decodeMicroseconds = UInt32(clamping: (NIODeadline.now() - start).nanoseconds / 1000)
            if rows <= server.configuration.batching.inlineMaxRows {
                batcher.enqueue(PredictBatcher.Item(connection: self, callID: frame.callID, rows: inputs.values, rowCount: rows,
                                                    includeScores: request.includeProbabilities, deadline: deadline,
                                                    enqueued: start, decodeMicroseconds: decodeMicroseconds),
                                entry: entry)
            } else {
                offloadPredict(frame.callID, entry: entry, request: request, rows: rows, decodeMicroseconds: decodeMicroseconds,
                               deadline: deadline)
            }
        } catch let error as ModelwireError {
            fail(frame.callID, error)
        } catch {
            fail(frame.callID, ModelwireError(.internal, "predict failed"))
        }
    }

    /// The index of the first NaN or infinity in `values`, if any. The common all-finite case is
    /// one branch-free pass over the exponent bits, which the compiler vectorises.
    static func firstNonFinite(_ values: [Float]) -> Int? {
        let exponent: UInt32 = 0x7F80_0000
        let any = values.withUnsafeBufferPointer { buffer in
            buffer.reduce(UInt32(0)) { $0 | (($1.bitPattern & exponent) == exponent ? 1 : 0) }
        }
        return any == 0 ? nil : values.firstIndex { !$0.isFinite }
    }

    /// A large predict: computed on the worker pool (split over threads), answered on this loop.
    private func offloadPredict(_ id: UInt32, entry: ModelRepository.Entry, request: V1.PredictRequest, rows: Int,
                                decodeMicroseconds: UInt32, deadline: NIODeadline?) {
        guard let context else { return }
        let threads = rows >= 1024 ? server.configuration.eventLoopThreads : 1
        let values = request.inputs!.values
        let include = request.includeProbabilities
        let enqueued = NIODeadline.now()
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        server.workers.runIfActive(eventLoop: context.eventLoop) { () throws -> V1.PredictResponse in
            let start = NIODeadline.now()
            if let deadline, deadline <= start { throw ModelwireError(.deadlineExceeded, "the deadline passed while the call was queued") }
            let prediction = entry.model.predict(values, threads: threads)
            let compute = UInt32(clamping: (NIODeadline.now() - start).nanoseconds / 1000)
            return PredictResponses.make(entry: entry, prediction: prediction, rowRange: 0..<rows, includeScores: include,
                                         timings: V1.CallTimings(queueUs: UInt32(clamping: (start - enqueued).nanoseconds / 1000),
                                                                 decodeUs: decodeMicroseconds, computeUs: compute,
                                                                 batchRows: UInt32(rows)))
        }.whenComplete { result in
            bound.value.finish(id, result.mapError { $0 as? ModelwireError ?? ModelwireError(.internal, "predict failed") })
            bound.value.flushIfNeeded()
        }
    }

    /// Every method but Predict and the client-stream continuation.
    private func dispatch(_ method: V1.Method, _ frame: Frame) {
        let id = frame.callID
        do {
            switch method {
            case .train:
                let request = try decode(frame, V1.TrainRequest.self)
                try startTrainStream(id) { subscriber in try self.server.jobs.submit(request, subscriber: subscriber) }
            case .watchJob:
                let request = try decode(frame, V1.WatchJobRequest.self)
                try startTrainStream(id) { subscriber in
                    (request.jobId, try self.server.jobs.watch(request.jobId, subscriber: subscriber))
                }
            case .evaluate:
                let request = try decode(frame, V1.EvaluateRequest.self)
                let server = self.server
                offload(id) { try Self.evaluate(request, server: server) }
            case .getJob:
                finish(id, .success(try server.jobs.job(try decode(frame, V1.GetJobRequest.self).jobId)))
            case .listJobs:
                _ = try decode(frame, V1.ListJobsRequest.self)
                finish(id, .success(V1.ListJobsResponse(jobs: server.jobs.list())))
            case .cancelJob:
                let request = try decode(frame, V1.CancelJobRequest.self)
                let jobs = server.jobs
                offload(id) { try jobs.cancelAndWait(request.jobId) }
            case .uploadDataset:
                let first = try decode(frame, V1.UploadDatasetRequest.self)
                try ResourceName.validate(first.name, "dataset")
                calls[id]?.upload = Upload(name: first.name, replace: first.replace)
                try appendChunk(id, first, bytes: frame.payload.readableBytes, isLast: frame.flags.contains(.endStream))
            case .listDatasets:
                _ = try decode(frame, V1.ListDatasetsRequest.self)
                finish(id, .success(V1.ListDatasetsResponse(datasets: server.datasets.list())))
            case .deleteDataset:
                let request = try decode(frame, V1.DeleteDatasetRequest.self)
                let datasets = server.datasets
                offload(id) {
                    try datasets.delete(name: request.name)
                    return V1.DeleteDatasetResponse()
                }
            case .listModels:
                _ = try decode(frame, V1.ListModelsRequest.self)
                finish(id, .success(V1.ListModelsResponse(models: server.repository.list())))
            case .describeModel:
                finish(id, .success(try server.repository.describe(try decode(frame, V1.DescribeModelRequest.self).model)))
            case .deleteModel:
                let request = try decode(frame, V1.DeleteModelRequest.self)
                let repository = server.repository
                offload(id) { V1.DeleteModelResponse(deletedVersions: try repository.delete(name: request.name, version: request.version)) }
            case .setAlias:
                let request = try decode(frame, V1.SetAliasRequest.self)
                let repository = server.repository
                offload(id) {
                    V1.SetAliasResponse(previousVersion: try repository.setAlias(name: request.name, alias: request.alias,
                                                                                version: request.version))
                }
            case .exportModel:
                let request = try decode(frame, V1.ExportModelRequest.self)
                let repository = server.repository
                offload(id) { try repository.export(request.model) }
            case .importModel:
                let request = try decode(frame, V1.ImportModelRequest.self)
                let repository = server.repository
                offload(id) { try Self.importModel(request, repository: repository) }
            case .health:
                _ = try decode(frame, V1.HealthRequest.self)
                finish(id, .success(server.health))
            case .serverInfo:
                _ = try decode(frame, V1.ServerInfoRequest.self)
                finish(id, .success(server.info))
            default:
                fail(id, ModelwireError(.unimplemented, "method \(method) is not served"))
            }
        } catch let error as any ModelwireErrorConvertible {
            if !(error is ModelwireError) { logger.error("call \(id) (\(method)) failed: \(error)") }
            fail(id, error.modelwireError)
        } catch {
            logger.error("call \(id) (\(method)) failed: \(error)")
            fail(id, ModelwireError(.internal, "the call failed on the server (see its log)"))
        }
    }

    private func decode<M: ProtobufMessage>(_ frame: Frame, _ type: M.Type) throws(ModelwireError) -> M {
        do { return try codec.decode(frame, as: type) } catch { throw ModelwireError(status: error.status) }
    }

    /// Runs blocking work on the worker pool and answers the call on this loop.
    private func offload<M: ProtobufMessage>(_ id: UInt32, _ work: @escaping @Sendable () throws -> M) {
        guard let context else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let logger = self.logger
        server.workers.runIfActive(eventLoop: context.eventLoop, work).whenComplete { result in
            let mapped = result.mapError { error -> ModelwireError in
                if let error = error as? ModelwireError { return error }
                logger.error("call \(id) failed: \(error)")
                if let error = error as? any ModelwireErrorConvertible { return error.modelwireError }
                return ModelwireError(.internal, "the call failed on the server (see its log)")
            }
            bound.value.finish(id, mapped)
            bound.value.flushIfNeeded()
        }
    }

    /// Streams a job's events to call `id` (Train and WatchJob); CANCEL or disconnect only detaches.
    private func startTrainStream(_ id: UInt32, _ subscribe: (@escaping JobManager.Subscriber) throws -> (String, UInt64)) throws {
        guard let context else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        let subscriber: JobManager.Subscriber = { event, error, finished in
            loop.execute {
                let handler = bound.value
                guard handler.calls[id] != nil else { return }
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
        let (job, subscription) = try subscribe(subscriber)
        if calls[id] != nil { calls[id]?.subscription = (job, subscription) }
    }

    private func continueUpload(_ frame: Frame) {
        let id = frame.callID
        guard calls[id]?.upload != nil else { return }  // ended, cancelled or failed: late chunks are ignored
        do {
            let chunk = try decode(frame, V1.UploadDatasetRequest.self)
            try appendChunk(id, chunk, bytes: frame.payload.readableBytes, isLast: frame.flags.contains(.endStream))
        } catch let error as ModelwireError {
            fail(id, error)
        } catch {
            fail(id, ModelwireError(.internal, "upload failed"))
        }
    }

    private func appendChunk(_ id: UInt32, _ chunk: V1.UploadDatasetRequest, bytes: Int, isLast: Bool) throws {
        guard var upload = calls[id]?.upload else { return }
        guard chunk.name.isEmpty || chunk.name == upload.name else {
            throw ModelwireError(.invalidArgument, "chunk names dataset \"\(chunk.name)\", the upload \"\(upload.name)\"")
        }
        upload.bytes += bytes
        guard upload.bytes <= server.configuration.limits.maxDatasetBytes else {
            throw ModelwireError(.resourceExhausted, "the dataset exceeds \(server.configuration.limits.maxDatasetBytes) bytes")
        }
        if let rows = chunk.rows { try upload.dataset.append(chunk: rows) }
        if isLast {
            calls[id]?.upload = nil
            let datasets = server.datasets
            let finished = upload
            offload(id) { try datasets.save(name: finished.name, dataset: finished.dataset, replace: finished.replace) }
        } else {
            calls[id]?.upload = upload
        }
    }

    // MARK: - Answers

    /// Whether call `id` is still open (not cancelled, not timed out).
    func isOpen(_ id: UInt32) -> Bool { calls[id] != nil }

    /// Ends a predict call (called by the batcher).
    func finishPredict(_ id: UInt32, _ result: Result<V1.PredictResponse, ModelwireError>) {
        finish(id, result)
    }

    /// Ends call `id` with an error (no-op when it already ended).
    private func fail(_ id: UInt32, _ error: ModelwireError) {
        finish(id, Result<V1.HealthResponse, ModelwireError>.failure(error))
    }

    /// Ends call `id` with a final response or an error (no-op when it already ended).
    private func finish<M: ProtobufMessage>(_ id: UInt32, _ result: Result<M, ModelwireError>) {
        guard let call = calls.removeValue(forKey: id) else { return }
        release(call)
        switch result {
        case .success(let message): writeMessage(id, message, endStream: true)
        case .failure(let error): writeError(id, error)
        }
        closeIfDrained()
    }

    private func writeMessage<M: ProtobufMessage>(_ id: UInt32, _ message: M, endStream: Bool) {
        var buffer = context?.channel.allocator.buffer(capacity: 256) ?? ByteBuffer()
        do {
            try codec.writeFrame(message, kind: .message, flags: endStream ? .endStream : [], callID: id, into: &buffer)
        } catch {
            logger.error("call \(id): response could not be encoded: \(error)")
            buffer.clear()
            try? codec.writeFrame(ModelwireError(.internal, "the response could not be encoded").status, kind: .error, callID: id,
                                  into: &buffer)
        }
        write(buffer)
    }

    private func writeError(_ id: UInt32, _ error: ModelwireError) {
        var buffer = ByteBuffer()
        try? codec.writeFrame(error.status, kind: .error, callID: id, into: &buffer)
        write(buffer)
    }

    private func write(_ buffer: ByteBuffer) {
        guard let context, phase != .closed || buffer.readableBytes == 0 else { return }
        context.write(wrapOutboundOut(buffer), promise: nil)
        needsFlush = true
    }

    /// Flushes written responses once (after a read round or a batch).
    func flushIfNeeded() {
        guard needsFlush, let context else { return }
        needsFlush = false
        context.flush()
    }

    private func release(_ call: OpenCall) {
        call.deadlineTimer?.cancel()
        if let subscription = call.subscription { server.jobs.unsubscribe(subscription.job, subscription.id) }
    }

    // MARK: - Slow calls (on the worker pool)

    private static func evaluate(_ request: V1.EvaluateRequest, server: ServerContext) throws -> V1.EvaluateResponse {
        let entry = try server.repository.resolve(request.model)
        let wire: V1.Dataset = switch request.data {
        case .inlineData(let d)?: d
        case .dataset(let name)?: try server.datasets.dataset(named: name)
        case nil: throw ModelwireError(.invalidArgument, "the request has no rows (inline_data or dataset)")
        }
        let dataset = try Dataset(wire: wire, requireTwoClasses: false)
        let evaluation: TrainedModel.Evaluation
        do { evaluation = try entry.model.evaluate(dataset) } catch {
            throw ModelwireError(.invalidArgument, "model \(entry.name) v\(entry.version) cannot evaluate these rows: \(error)")
        }
        return V1.EvaluateResponse(model: entry.name, version: entry.version,
                                   evaluation: evaluation.wire(rows: dataset.rows, classNames: entry.model.snapshot.classNames))
    }

    private static func importModel(_ request: V1.ImportModelRequest, repository: ModelRepository) throws -> V1.ModelVersionInfo {
        let file: V1.ModelFile
        do { file = try V1.ModelFile(serializedBytes: request.modelFile) } catch {
            throw ModelwireError(.invalidArgument, "model_file is not a modelwire.v1.ModelFile: \(error)")
        }
        let name = request.name.isEmpty ? file.name : request.name
        _ = try ModelRepository.entry(bytes: request.modelFile, name: name.isEmpty ? "import" : name, version: 1)
        let entry = try repository.store(file, name: name)
        return try repository.describe(V1.ModelRef(name: entry.name, selector: .version(entry.version)))
    }
}

@available(*, unavailable)
extension ServerConnectionHandler: Sendable {}
