import Logging
import ModelwireCodec
import ModelwireProtocol
import NIOCore
import NIOPosix
import Tracing

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

    /// The token file was reloaded (SIGHUP): a connection whose token is gone drains with
    /// GOAWAY; one whose token's role changed gets the new role.
    struct CredentialsReloaded: Sendable {
        let tokens: TokenFile
    }

    /// What this handler keeps per open call, released when the call ends.
    struct CallResources {
        var deadlineTimer: Scheduled<Void>?
        var subscription: ModelService.JobSubscription?
        var upload: ModelService.DatasetUpload?
        /// Tells work on the worker pool that the call ended early.
        var context: CallContext?
    }

    /// UploadDataset's row (its continuation chunks do not repeat the method id).
    static let uploadMethod = ServiceMethod.v1.first { $0.descriptor.method == .uploadDataset }!

    let service: ModelService
    let workers: NIOThreadPool
    let batcher: PredictBatcher
    var logger: Logger
    var state: ServerConnection.StateMachine<CallResources>
    var codec: FramePayloadCodec
    var context: ChannelHandlerContext?
    private var needsFlush = false
    private var handshakeTimer: Scheduled<Void>?
    /// Frames held while the channel is not writable (bounded: the socket is not read meanwhile).
    private var deferred = CircularBuffer<Frame>()
    private var stallTimer: Scheduled<Void>?
    /// SHA-256 of the token this connection authenticated with (never the token itself), to
    /// find it again in a reloaded token file.
    private var tokenDigest: [UInt8]?
    /// Open calls' facts for their log line (`ServerConnectionHandler+CallLog.swift`); empty
    /// when `recordsCalls` is false.
    var callRecords = CallRecords()
    /// Whether calls are recorded: for the metrics, for spans when a tracer is bootstrapped, or at
    /// log level info or finer (failed calls are logged at info).
    let recordsCalls: Bool
    /// Whether calls that succeed get a line too: at log level debug or finer.
    let logsEveryCall: Bool
    /// Whether a call's model and trace context are noted: for its log line (level info or finer)
    /// or its span (a tracer bootstrapped); not for the metrics alone.
    let notesRequests: Bool

    init(service: ModelService, workers: NIOThreadPool, batcher: PredictBatcher, logger: Logger) {
        self.service = service
        self.workers = workers
        self.batcher = batcher
        self.logger = logger
        self.state = .init(
            maxConcurrentCalls: service.configuration.limits.maxConcurrentCalls,
            role: service.authenticator.isEnabled ? .none : .admin,
            healthWithoutAuth: service.configuration.authentication.healthWithoutAuth
        )
        self.codec = FramePayloadCodec(limits: service.configuration.limits, peerAcceptsZlib: false)
        // A tracer bootstrapped in this process (not swift-distributed-tracing's no-op one) gets
        // a span for every call whose caller sent a trace context.
        let tracing = !(InstrumentationSystem.tracer is NoOpTracer)
        self.notesRequests = logger.logLevel <= .info || tracing
        self.recordsCalls = notesRequests || service.metrics != nil
        self.logsEveryCall = logger.logLevel <= .debug
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        service.metrics?.binaryConnection(opened: true)
        self.logger[metadataKey: "modelwire.peer"] = "\(context.remoteAddress.map { "\($0)" } ?? "?")"
        let timeout = TimeAmount.milliseconds(Int64(service.configuration.handshakeTimeoutMilliseconds))
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        handshakeTimer = context.eventLoop.scheduleTask(in: timeout) {
            bound.value.service.metrics?.handshakeFailed(reason: "timeout")
            bound.value.failConnection(
                ModelwireError(.deadlineExceeded, "no HELLO within \(timeout.nanoseconds / 1_000_000) ms")
            )
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeTimer?.cancel()
        stallTimer?.cancel()
        deferred.removeAll()
        service.metrics?.binaryConnection(opened: false)
        for call in state.closed() { release(call) }
        for id in callRecords.openIDs { callEnded(id, .cancelled, message: "the connection closed") }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        // A peer that does not read its answers: hold its frames (reading from the socket stops
        // meanwhile, in BackPressureHandler) instead of answering into an ever-growing buffer.
        guard deferred.isEmpty, context.channel.isWritable else {
            deferred.append(frame)
            armStallTimer(context)
            return
        }
        process(frame)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            stallTimer?.cancel()
            stallTimer = nil
            while !deferred.isEmpty, context.channel.isWritable { process(deferred.removeFirst()) }
            flushIfNeeded()
        }
        if !context.channel.isWritable { armStallTimer(context) }
        context.fireChannelWritabilityChanged()
    }

    /// Closes the connection when its peer has not read for `stalledWriteTimeoutMilliseconds`.
    private func armStallTimer(_ context: ChannelHandlerContext) {
        guard stallTimer == nil else { return }
        let timeout = service.configuration.stalledWriteTimeoutMilliseconds
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        stallTimer = context.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout))) {
            let handler = bound.value
            handler.logger.debug("closing a connection whose peer stopped reading for \(timeout) ms")
            _ = handler.state.failConnection()  // an ERROR frame could not reach a peer that does not read
            handler.context?.close(promise: nil)
        }
    }

    private func process(_ frame: Frame) {
        // Bytes counted per frame here, not by a handler of its own: one more pipeline stage
        // costs more per call than the count (docs/performance.md, metrics cost).
        service.metrics?.received(binaryBytes: Frame.headerSize + frame.payload.readableBytes)
        switch state.receive(.init(frame)) {
        case .ignore:
            return
        case .handshake:
            handshake(frame)
        case .openCall(let method) where method.method == .predict:
            if recordsCalls { callOpened(frame.callID, method.id) }
            predict(frame)  // the hot path: no table lookup, no timer, no call context
        case .openCall(let method):
            if recordsCalls { callOpened(frame.callID, method.id) }
            serve(ServiceMethod.lookup(method), frame)
        case .rejectCall(let id, let error):
            service.metrics?.failedBeforeOpening(method: frame.method, status: error.code)
            if recordsCalls { logRejected(id, method: frame.method, error) }
            writeError(id, error)
        case .continueStream(let id):
            do {
                let chunk = try ServiceMethod.decode(
                    frame,
                    V1.UploadDatasetRequest.self,
                    codec,
                    metrics: service.metrics
                )
                try appendChunk(id, chunk, frame: frame)
            } catch {
                fail(id, error)
            }
        case .cancelCall(let call):
            if recordsCalls { callEnded(frame.callID, .cancelled) }
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
            failConnection(wire.modelwireError)
        } else if let decoderError = error as? ByteToMessageDecoderError {
            // A sentence, not NIO's case name (nor a dump of the bytes it carries).
            var detail = "the byte stream cannot be cut into frames"
            if case .dataReceivedInErrorState(let first as WireError, _) = decoderError {
                detail = "\(first)"
            } else if case .leftoverDataWhenDone(let rest) = decoderError {
                detail = "connection ended inside a frame (\(rest.readableBytes) bytes buffered)"
            }
            failConnection(ModelwireError(.invalidArgument, "framing error: \(detail)", cause: decoderError))
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
            drain(reason: "the connection was idle too long")
        } else if let reload = event as? CredentialsReloaded {
            credentialsReloaded(reload.tokens)
        } else if let timeout = event as? FrameTimeoutHandler.Expired {
            logger.debug("closing a connection whose frame did not arrive in \(timeout.milliseconds) ms")
            failConnection(
                ModelwireError(
                    .deadlineExceeded,
                    "a frame's bytes did not all arrive within \(timeout.milliseconds) ms of its first byte"
                )
            )
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    // MARK: - Handshake, drain, close

    private func handshake(_ frame: Frame) {
        handshakeTimer?.cancel()
        do {
            let hello = try ServiceMethod.decode(frame, V1.ClientHello.self, codec)
            let (answer, zlib) = try Handshake.negotiate(
                hello,
                limits: service.configuration.limits,
                serverName: service.serverName
            )
            codec.peerAcceptsZlib = zlib
            logger[metadataKey: "modelwire.client"] = "\(hello.clientName)"
            guard authenticate(hello.credentials) else { return }
            var reply = answer
            reply.limits = service.configuration.announcedLimits
            if service.authenticator.isEnabled { reply.role = state.role.wire }
            var buffer = ByteBuffer()
            try? codec.writeFrame(reply, kind: .hello, into: &buffer)
            write(buffer)
            if case .serveAndGoAway(let lastCallID) = state.handshakeSucceeded(serverIsDraining: service.isDraining) {
                sendGoAway(lastCallID: lastCallID)
            }
        } catch {
            service.metrics?.handshakeFailed(reason: ServerMetrics.snakeCase("\(error.code)"))
            failConnection(error)
        }
    }

    /// Sets the connection's role from the HELLO's credentials. A token not in the token file
    /// fails the connection with unauthenticated (ERROR on call 0, close) and returns false; no
    /// credentials give role none. Neither the token nor its hash is logged.
    private func authenticate(_ credentials: V1.Credentials?) -> Bool {
        guard service.authenticator.isEnabled else { return true }
        guard let token = credentials?.bearerToken else {
            state.authorize(.none)
            return true
        }
        let digest = TokenFile.sha256(token)
        guard let entry = service.authenticator.current.authenticate(digest: digest) else {
            logger.notice("refused a connection: its bearer token is not in the auth file")
            service.metrics?.handshakeFailed(reason: "unauthenticated")
            failConnection(ModelwireError(.unauthenticated, "the bearer token is not valid"))
            return false
        }
        tokenDigest = digest
        logger[metadataKey: "modelwire.token"] = "\(entry.name)"
        state.authorize(entry.role)
        return true
    }

    private func credentialsReloaded(_ tokens: TokenFile) {
        guard let digest = tokenDigest else { return }
        guard let entry = tokens.authenticate(digest: digest) else {
            logger.notice("the connection's token was revoked: draining it")
            tokenDigest = nil
            state.authorize(.none)
            drain(reason: "the connection's token was revoked")
            return
        }
        if entry.role != state.role {
            logger.notice("the connection's token now has role \(entry.role)")
            state.authorize(entry.role)
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

    private func drain(reason: String = "the server is shutting down") {
        switch state.drain() {
        case .none:
            return
        case .close:
            context?.close(promise: nil)
        case .goAway(let lastCallID, let closeAfterwards):
            sendGoAway(lastCallID: lastCallID, reason: reason)
            if closeAfterwards { close() }
        }
    }

    private func sendGoAway(lastCallID: UInt32, reason: String = "the server is shutting down") {
        var buffer = ByteBuffer()
        try? codec.writeFrame(
            V1.GoAway(lastCallId: lastCallID, reason: reason),
            kind: .goAway,
            into: &buffer
        )
        write(buffer)
        flushIfNeeded()
    }

    /// Flushes what was written, then closes (a close drops unflushed writes).
    private func close() {
        flushIfNeeded()
        context?.close(promise: nil)
    }

    // MARK: - PredictSink

    func isPredictOpen(_ callID: UInt32) -> Bool { state.isOpen(callID) }

    func finishPredict(_ callID: UInt32, _ result: Result<V1.PredictResponse, ModelwireError>) {
        finish(callID, result)
    }

    func flushPredictAnswers() { flushIfNeeded() }

    // MARK: - Answers

    /// Ends call `id` with an error (no-op when it already ended).
    func fail(_ id: UInt32, _ error: ModelwireError) {
        finish(id, Result<V1.HealthResponse, ModelwireError>.failure(error))
    }

    /// Ends call `id` with a final response or an error (no-op when it already ended).
    func finish<M: ProtobufMessage>(_ id: UInt32, _ result: Result<M, ModelwireError>) {
        guard case .answer(let call, let closeAfterwards) = state.finish(id) else { return }
        if recordsCalls {
            switch result {
            case .success: callEnded(id, .ok)
            case .failure(let error): callEnded(id, error.code, message: error.message)
            }
        }
        release(call)
        switch result {
        case .success(let message): writeMessage(id, message, endStream: true)
        case .failure(let error): writeError(id, error)
        }
        if closeAfterwards { close() }
    }

    /// `finish` for a type-erased response.
    func finish(_ id: UInt32, _ result: Result<any ProtobufMessage, ModelwireError>) {
        switch result {
        case .success(let message): finishErased(id, message)
        case .failure(let error): fail(id, error)
        }
    }

    private func finishErased<M: ProtobufMessage>(_ id: UInt32, _ message: M) {
        finish(id, Result<M, ModelwireError>.success(message))
    }

    func writeMessage<M: ProtobufMessage>(_ id: UInt32, _ message: M, endStream: Bool) {
        var buffer = context?.channel.allocator.buffer(capacity: 256) ?? ByteBuffer()
        do {
            try codec.writeFrame(message, kind: .message, flags: endStream ? .endStream : [], callID: id, into: &buffer)
            if codec.peerAcceptsZlib, let metrics = service.metrics { metrics.sent(message, frame: buffer) }
        } catch {
            logger.error("call \(id): response could not be encoded: \(error)")
            buffer.clear()
            try? codec.writeFrame(
                ModelwireError(.internal, "the response could not be encoded").status,
                kind: .error,
                callID: id,
                into: &buffer
            )
        }
        write(buffer)
    }

    func writeError(_ id: UInt32, _ error: ModelwireError) {
        var buffer = ByteBuffer()
        try? codec.writeFrame(error.status, kind: .error, callID: id, into: &buffer)
        write(buffer)
    }

    private func write(_ buffer: ByteBuffer) {
        guard let context, state.canWrite else { return }
        service.metrics?.sent(binaryBytes: buffer.readableBytes)
        context.write(wrapOutboundOut(buffer), promise: nil)
        needsFlush = true
    }

    /// Flushes written responses once (after a read round or a batch).
    func flushIfNeeded() {
        guard needsFlush, let context else { return }
        needsFlush = false
        context.flush()
    }

    func release(_ call: CallResources?) {
        guard let call else { return }
        call.deadlineTimer?.cancel()
        call.context?.cancel()
        if let subscription = call.subscription { service.unsubscribe(subscription) }
    }
}

@available(*, unavailable)
extension ServerConnectionHandler: Sendable {}
