import Logging
import ModelwireCodec
import ModelwireProtocol
import NIOCore
import NIOPosix

/// Serves one connection: feeds every frame and event to the connection's
/// `ServerConnection.StateMachine` and performs the actions it returns, with the bodies of
/// `ServiceMethod.v1` (PROTOCOL.md).
///
/// Runs on the connection's event loop. Small predicts are answered on this loop through the
/// loop's `PredictBatcher` (no thread hop); worker-pool methods and large predicts run on the
/// worker pool and come back here to be written; training runs in `JobManager`. Responses are
/// written as they are ready and flushed once per read round or batch.
final class ServerConnectionHandler: ChannelInboundHandler, PredictSink {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    /// Signals a graceful drain (sent through the pipeline by `ModelServer`).
    struct DrainEvent: Sendable {}

    /// What this handler keeps per open call, released when the call ends.
    struct CallResources {
        var deadlineTimer: Scheduled<Void>?
        var subscription: ModelService.JobSubscription?
        var upload: ModelService.DatasetUpload?
        /// Tells work on the worker pool that the call ended early.
        var context: CallContext?
    }

    /// UploadDataset's row (its continuation chunks do not repeat the method id).
    private static let uploadMethod = ServiceMethod.v1.first { $0.descriptor.method == .uploadDataset }!

    private let service: ModelService
    private let workers: NIOThreadPool
    private let batcher: PredictBatcher
    private var logger: Logger
    private var state: ServerConnection.StateMachine<CallResources>
    private var codec: FramePayloadCodec
    private var context: ChannelHandlerContext?
    private var needsFlush = false
    private var handshakeTimer: Scheduled<Void>?

    init(service: ModelService, workers: NIOThreadPool, batcher: PredictBatcher, logger: Logger) {
        self.service = service
        self.workers = workers
        self.batcher = batcher
        self.logger = logger
        self.state = .init(maxConcurrentCalls: service.configuration.limits.maxConcurrentCalls)
        self.codec = FramePayloadCodec(limits: service.configuration.limits, peerAcceptsZlib: false)
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.logger[metadataKey: "modelwire.peer"] = "\(context.remoteAddress.map { "\($0)" } ?? "?")"
        let timeout = TimeAmount.milliseconds(Int64(service.configuration.handshakeTimeoutMilliseconds))
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        handshakeTimer = context.eventLoop.scheduleTask(in: timeout) {
            bound.value.failConnection(ModelwireError(.deadlineExceeded, "no HELLO within \(timeout.nanoseconds / 1_000_000) ms"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeTimer?.cancel()
        for call in state.closed() { release(call) }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch state.receive(.init(frame)) {
        case .ignore:
            return
        case .handshake:
            handshake(frame)
        case .openCall(let method) where method.method == .predict:
            predict(frame)  // the hot path: no table lookup, no timer, no call context
        case .openCall(let method):
            serve(ServiceMethod.lookup(method), frame)
        case .rejectCall(let id, let error):
            writeError(id, error)
        case .continueStream(let id):
            do {
                let chunk = try ServiceMethod.decode(frame, V1.UploadDatasetRequest.self, codec)
                try appendChunk(id, chunk, frame: frame)
            } catch {
                fail(id, error)
            }
        case .cancelCall(let call):
            release(call)
        case .pong:
            var pong = ByteBuffer()
            pong.writeFrame(Frame(kind: .pong, payload: frame.payload))
            write(pong)
        case .closeConnection(let error):
            sendErrorAndClose(error)
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
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    // MARK: - Handshake, drain, close

    private func handshake(_ frame: Frame) {
        handshakeTimer?.cancel()
        do {
            let hello = try ServiceMethod.decode(frame, V1.ClientHello.self, codec)
            let (answer, zlib) = try Handshake.negotiate(hello, limits: service.configuration.limits,
                                                         serverName: service.serverName)
            codec.peerAcceptsZlib = zlib
            logger[metadataKey: "modelwire.client"] = "\(hello.clientName)"
            var buffer = ByteBuffer()
            try? codec.writeFrame(answer, kind: .hello, into: &buffer)
            write(buffer)
            if case .serveAndGoAway(let lastCallID) = state.handshakeSucceeded(serverIsDraining: service.isDraining) {
                sendGoAway(lastCallID: lastCallID)
            }
        } catch {
            failConnection(error)
        }
    }

    /// Sends an ERROR on call 0 and closes the connection (once).
    private func failConnection(_ error: ModelwireError) {
        guard state.failConnection() else { return }
        sendErrorAndClose(error)
    }

    private func sendErrorAndClose(_ error: ModelwireError) {
        guard let context else { return }
        var buffer = ByteBuffer()
        try? codec.writeFrame(error.status, kind: .error, into: &buffer)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(promise: nil) }
    }

    private func drain() {
        switch state.drain() {
        case .none:
            return
        case .close:
            context?.close(promise: nil)
        case .goAway(let lastCallID, let closeAfterwards):
            sendGoAway(lastCallID: lastCallID)
            if closeAfterwards { close() }
        }
    }

    private func sendGoAway(lastCallID: UInt32) {
        var buffer = ByteBuffer()
        try? codec.writeFrame(V1.GoAway(lastCallId: lastCallID, reason: "the server is shutting down"), kind: .goAway,
                              into: &buffer)
        write(buffer)
        flushIfNeeded()
    }

    /// Flushes what was written, then closes (a close drops unflushed writes).
    private func close() {
        flushIfNeeded()
        context?.close(promise: nil)
    }

    // MARK: - Calls

    private func serve(_ method: ServiceMethod, _ frame: Frame) {
        let id = frame.callID
        do {
            switch method.body {
            case .predict:
                predict(frame)
            case .unary(.eventLoop, let prepare):
                let work = try prepare(service, frame, codec)
                finish(id, Result { try work(.detached) }.mapError(map(id, method)))
            case .unary(.workerPool, let prepare):
                let work = try prepare(service, frame, codec)
                runOnWorkers(id, method, resources: startResources(frame)) { call in try work(call) }
            case .jobStream(let subscribe):
                state.setCall(id, startResources(frame))
                try subscribeToJob(id, frame, subscribe)
            case .datasetUpload:
                let first = try ServiceMethod.decode(frame, V1.UploadDatasetRequest.self, codec)
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
            resources.deadlineTimer = context.eventLoop.scheduleTask(in: .milliseconds(Int64(frame.timeoutMilliseconds))) {
                bound.value.fail(id, ModelwireError(.deadlineExceeded, "the call's deadline passed"))
                bound.value.flushIfNeeded()
            }
        }
        return resources
    }

    /// Runs `work` on the worker pool and answers call `id` on this loop.
    private func runOnWorkers(_ id: UInt32, _ method: ServiceMethod, resources: CallResources,
                              _ work: @escaping @Sendable (CallContext) throws -> any ProtobufMessage) {
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
    private func subscribeToJob(_ id: UInt32, _ frame: Frame, _ subscribe: ServiceMethod.Subscribe) throws {
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
        let subscription = try subscribe(service, frame, codec, subscriber)
        _ = state.withCall(id) { $0?.subscription = subscription }
    }

    /// Adds an upload chunk to open call `id`; the last one stores the dataset on the worker pool.
    private func appendChunk(_ id: UInt32, _ chunk: V1.UploadDatasetRequest, frame: Frame) throws(ModelwireError) {
        // Taken out of the table while it grows, so that appending never copies the rows so far.
        guard var upload = state.withCall(id, { call in defer { call?.upload = nil }; return call?.upload }) ?? nil else { return }
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

    private func predict(_ frame: Frame) {
        let start = NIODeadline.now()
        let id = frame.callID
        do {
            let request = try ServiceMethod.decode(frame, V1.PredictRequest.self, codec)
            let prepared = try service.preparePredict(request)
            let decodeMicroseconds = UInt32(clamping: (NIODeadline.now() - start).nanoseconds / 1000)
            if prepared.rowCount <= service.configuration.batching.inlineMaxRows {
                let deadline = frame.timeoutMilliseconds == 0 ? nil : start + .milliseconds(Int64(frame.timeoutMilliseconds))
                batcher.enqueue(PredictBatcher.Item(sink: self, callID: id, rows: prepared.rows, rowCount: prepared.rowCount,
                                                    includeScores: prepared.includeScores, deadline: deadline,
                                                    enqueued: start, decodeMicroseconds: decodeMicroseconds),
                                entry: prepared.entry)
            } else {
                offloadPredict(id, prepared, frame: frame, decodeMicroseconds: decodeMicroseconds)
            }
        } catch {
            fail(id, error)
        }
    }

    /// A large predict: computed on the worker pool (split over threads), answered on this loop.
    private func offloadPredict(_ id: UInt32, _ prepared: ModelService.PreparedPredict, frame: Frame,
                                decodeMicroseconds: UInt32) {
        guard let context else { return }
        let call = CallContext(timeoutMilliseconds: frame.timeoutMilliseconds)
        state.setCall(id, CallResources(context: call))
        let threads = prepared.rowCount >= 1024 ? service.configuration.eventLoopThreads : 1
        let enqueued = NIODeadline.now()
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let service = self.service
        workers.runIfActive(eventLoop: context.eventLoop) { () throws(ModelwireError) -> V1.PredictResponse in
            let queued = UInt32(clamping: (NIODeadline.now() - enqueued).nanoseconds / 1000)
            return try service.predict(prepared, threads: threads,
                                       timings: V1.CallTimings(queueUs: queued, decodeUs: decodeMicroseconds), call)
        }.whenComplete { result in
            bound.value.finishPredict(id, result.mapError { $0 as? ModelwireError ?? ModelwireError(.internal, "predict failed") })
            bound.value.flushIfNeeded()
        }
    }

    // MARK: - PredictSink

    func isPredictOpen(_ callID: UInt32) -> Bool { state.isOpen(callID) }

    func finishPredict(_ callID: UInt32, _ result: Result<V1.PredictResponse, ModelwireError>) {
        finish(callID, result)
    }

    func flushPredictAnswers() { flushIfNeeded() }

    // MARK: - Answers

    /// Ends call `id` with an error (no-op when it already ended).
    private func fail(_ id: UInt32, _ error: ModelwireError) {
        finish(id, Result<V1.HealthResponse, ModelwireError>.failure(error))
    }

    /// Ends call `id` with a final response or an error (no-op when it already ended).
    private func finish<M: ProtobufMessage>(_ id: UInt32, _ result: Result<M, ModelwireError>) {
        guard case .answer(let call, let closeAfterwards) = state.finish(id) else { return }
        release(call)
        switch result {
        case .success(let message): writeMessage(id, message, endStream: true)
        case .failure(let error): writeError(id, error)
        }
        if closeAfterwards { close() }
    }

    /// `finish` for a type-erased response.
    private func finish(_ id: UInt32, _ result: Result<any ProtobufMessage, ModelwireError>) {
        switch result {
        case .success(let message): finishErased(id, message)
        case .failure(let error): fail(id, error)
        }
    }

    private func finishErased<M: ProtobufMessage>(_ id: UInt32, _ message: M) {
        finish(id, Result<M, ModelwireError>.success(message))
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
        guard let context, state.canWrite else { return }
        context.write(wrapOutboundOut(buffer), promise: nil)
        needsFlush = true
    }

    /// Flushes written responses once (after a read round or a batch).
    private func flushIfNeeded() {
        guard needsFlush, let context else { return }
        needsFlush = false
        context.flush()
    }

    private func release(_ call: CallResources?) {
        guard let call else { return }
        call.deadlineTimer?.cancel()
        call.context?.cancel()
        if let subscription = call.subscription { service.unsubscribe(subscription) }
    }
}

@available(*, unavailable)
extension ServerConnectionHandler: Sendable {}
