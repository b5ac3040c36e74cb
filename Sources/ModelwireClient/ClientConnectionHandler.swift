import Logging
import ModelwireCodec
import ModelwireProtocol
import NIOCore

/// The client end of one Modelwire connection: handshake, the call table, PING/PONG, GOAWAY,
/// local deadlines and connection loss. Everything runs on the channel's event loop; callers
/// reach it with `channel.writeAndFlush(ClientRequest...)`, and responses complete their sinks
/// directly from the event loop (no further hop).
///
/// Pipeline: `ByteToMessageHandler(FrameDecoder(...))` then this handler.
///
/// Over 300 lines on purpose: one handler whose event paths (handshake, calls, flush coalescing,
/// deadlines, keepalive, failure) share its private state. What is pure lives apart: the call
/// table (`CallTable`), and what callers write into the channel (`ClientRequest.swift`).
final class ClientConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = Frame
    typealias OutboundIn = ClientRequest
    typealias OutboundOut = ByteBuffer

    private enum HandshakeState {
        case awaitingHello
        case ready
        case failed
    }

    private var handshake: HandshakeState = .awaitingHello
    private var table = CallTable<ResponseSink>()
    /// Local deadlines of open calls (when, and the timeout for the message). One timer serves
    /// them all: it is armed for the earliest, and re-armed only when a call with an earlier
    /// deadline opens or when it fires (a scheduled task per call cost ~20% of the client's CPU).
    private var deadlines: [UInt32: (at: NIODeadline, timeout: TimeAmount)] = [:]
    private var deadlineTimer: (at: NIODeadline, task: Scheduled<Void>)?
    private let hello: V1.ClientHello
    private let helloPromise: EventLoopPromise<V1.ServerHello>?
    private let codec: FramePayloadCodec
    private let onEvent: @Sendable (ClientConnectionEvent) -> Void
    private let keepalive: TimeAmount?
    private var keepaliveTask: RepeatedTask?
    private var framesSinceTick = 0
    private var pingOutstanding = false
    private let logger: Logger
    /// Merge flushes into one per batch of event-loop tasks (see `init`).
    private let coalesceFlushes: Bool
    /// A deferred flush is queued on the event loop.
    private var flushPending = false
    /// Flushes asked for since the last real one.
    private var flushesDeferred = 0
    /// With `coalesceFlushes`, at most this many calls wait for one write: past it the frames
    /// leave at once, so the server starts on the first calls of a burst while the rest are
    /// still being encoded (a pipeline, instead of the two sides taking turns).
    static let maxDeferredFlushes = 32

    /// Creates a handler.
    /// - Parameters:
    ///   - hello: The ClientHello sent when the channel becomes active.
    ///   - helloPromise: Succeeded with the ServerHello; failed with `ModelwireError` when the
    ///     server answers ERROR or the connection ends first.
    ///   - codec: Decodes control payloads (GOAWAY, ERROR) and encodes HELLO.
    ///   - keepalive: Send a PING after this long without an incoming frame; a connection that
    ///     then stays silent for another interval is closed. nil disables keepalive.
    ///   - logger: Connection-level events at debug level.
    ///   - coalesceFlushes: Merge the flushes of calls started together into one write per
    ///     event-loop tick (real connections); off, every flush is immediate (an EmbeddedChannel,
    ///     whose tests read the bytes right after each write).
    ///   - onEvent: Called on the event loop when the connection drains or closes.
    init(
        hello: V1.ClientHello,
        helloPromise: EventLoopPromise<V1.ServerHello>?,
        codec: FramePayloadCodec,
        keepalive: TimeAmount? = nil,
        logger: Logger,
        coalesceFlushes: Bool = false,
        onEvent: @escaping @Sendable (ClientConnectionEvent) -> Void = { _ in }
    ) {
        self.coalesceFlushes = coalesceFlushes
        self.hello = hello
        self.helloPromise = helloPromise
        self.codec = codec
        self.keepalive = keepalive
        self.logger = logger
        self.onEvent = onEvent
    }

    /// Calls open now (for tests and diagnostics).
    var openCalls: Int { self.table.count }

    // MARK: lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.sendHello(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.sendHello(context: context)
        context.fireChannelActive()
    }

    private var helloSent = false

    private func sendHello(context: ChannelHandlerContext) {
        guard !self.helloSent else { return }
        self.helloSent = true
        var buffer = context.channel.allocator.buffer(capacity: 64)
        do {
            try self.codec.writeFrame(self.hello, kind: .hello, into: &buffer)
        } catch {
            self.failConnection(
                context: context,
                ModelwireError(.invalidArgument, "cannot encode ClientHello: \(error)", cause: error)
            )
            return
        }
        context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.connectionEnded(context: context, ModelwireError(.unavailable, "connection closed by the server"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let failure = ClientTLSContext.failure(error, endpoint: "the server") {
            self.failConnection(context: context, failure)
            return
        }
        let message: String
        if let wire = error as? WireError {
            message = "framing error from the server: \(wire)"
        } else {
            message = "connection error: \(error)"
        }
        self.failConnection(context: context, ModelwireError(.unavailable, message, cause: error))
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.connectionEnded(context: context, ModelwireError(.unavailable, "connection closed"))
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        self.framesSinceTick &+= 1
        switch self.handshake {
        case .awaitingHello:
            self.readDuringHandshake(context: context, frame)
        case .ready:
            self.readCallFrame(context: context, frame)
        case .failed:
            break
        }
    }

    private func readDuringHandshake(context: ChannelHandlerContext, _ frame: Frame) {
        switch frame.kind {
        case .hello:
            do {
                let serverHello = try self.codec.decode(frame, as: V1.ServerHello.self)
                self.handshake = .ready
                self.startKeepalive(context: context)
                self.helloPromise?.succeed(serverHello)
            } catch {
                self.failConnection(
                    context: context,
                    ModelwireError(.unavailable, "undecodable ServerHello: \(error)", cause: error)
                )
            }
        case .error:
            let error = self.decodeStatus(frame) ?? ModelwireError(.unavailable, "the server refused the handshake")
            self.handshake = .failed
            self.helloPromise?.fail(error)
            self.connectionEnded(context: context, error)
            context.close(promise: nil)
        default:
            self.failConnection(
                context: context,
                ModelwireError(.unavailable, "protocol violation: \(frame.kind) before the server's HELLO")
            )
        }
    }

    private func readCallFrame(context: ChannelHandlerContext, _ frame: Frame) {
        switch frame.kind {
        case .message where frame.callID != 0:
            let action = self.table.receiveMessage(frame.callID, endStream: frame.flags.contains(.endStream))
            self.perform(action, callID: frame.callID, frame: frame, context: context)
        case .error where frame.callID != 0:
            let error =
                self.decodeStatus(frame)
                ?? ModelwireError(.internal, "undecodable ERROR payload on call \(frame.callID)")
            let action = self.table.receiveError(frame.callID, error)
            self.perform(action, callID: frame.callID, frame: frame, context: context)
        case .error:
            let status = self.decodeStatus(frame)
            let reason = status.map { "\($0.code) (\($0.code.rawValue)): \($0.message)" } ?? "undecodable status"
            self.logger.debug("connection error from server", metadata: ["modelwire.reason": "\(reason)"])
            self.failConnection(
                context: context,
                ModelwireError(.unavailable, "the server closed the connection: \(reason)")
            )
        case .ping:
            var pong = context.channel.allocator.buffer(capacity: Frame.headerSize + frame.payload.readableBytes)
            pong.writeFrame(Frame(kind: .pong, payload: frame.payload))
            context.writeAndFlush(self.wrapOutboundOut(pong), promise: nil)
        case .pong:
            self.pingOutstanding = false
        case .goAway:
            let goAway = (try? self.codec.decode(frame, as: V1.GoAway.self)) ?? V1.GoAway(lastCallId: UInt32.max)
            self.logger.debug(
                "server draining",
                metadata: [
                    "modelwire.last_call_id": "\(goAway.lastCallId)", "modelwire.reason": "\(goAway.reason)",
                ]
            )
            let (failed, idle) = self.table.goAway(lastCallID: goAway.lastCallId)
            for (sink, error) in failed { sink.fail(error) }
            self.onEvent(.draining)
            if idle { context.close(promise: nil) }
        default:
            self.failConnection(
                context: context,
                ModelwireError(.unavailable, "protocol violation: unexpected \(frame.kind) frame from the server")
            )
        }
    }

    private func perform(
        _ action: CallTable<ResponseSink>.ReceiveAction,
        callID: UInt32,
        frame: Frame,
        context: ChannelHandlerContext
    ) {
        switch action {
        case .deliver(let sink, let final):
            if final { self.deadlines.removeValue(forKey: callID) }
            sink.deliver(frame, final: final)
        case .fail(let sink, let error, let sendCancel):
            self.deadlines.removeValue(forKey: callID)
            sink.fail(error)
            if sendCancel { self.writeCancel(context: context, callID: callID) }
        case .ignore:
            return
        }
        if self.table.isDrainedIdle { context.close(promise: nil) }
    }

    private func decodeStatus(_ frame: Frame) -> ModelwireError? {
        guard let status = try? self.codec.decode(frame, as: V1.Status.self) else { return nil }
        return ModelwireError(status: status)
    }

    // MARK: outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch self.unwrapOutboundIn(data) {
        case .start(let callID, let shape, let frame, let timeout, let sink):
            // The handler owns the sink from here on: the write promise succeeds at once, and the
            // call's outcome reaches the sink through the table (exactly once).
            promise?.succeed(())
            guard case .ready = self.handshake else {
                sink.fail(ModelwireError(.unavailable, "connection not ready"))
                return
            }
            switch self.table.open(callID, shape: shape, sink: sink) {
            case .send:
                if let timeout { self.armDeadline(context: context, callID: callID, timeout: timeout) }
                context.write(self.wrapOutboundOut(frame), promise: nil)
            case .reject(let sink, let error):
                sink.fail(error)
            }
        case .send(let callID, let frame):
            guard self.table.isOpen(callID) else {
                promise?.fail(ModelwireError(.cancelled, "call \(callID) has ended"))
                return
            }
            context.write(self.wrapOutboundOut(frame), promise: promise)
        case .cancel(let callID):
            promise?.succeed(())
            if let sink = self.table.cancel(callID) {
                self.deadlines.removeValue(forKey: callID)
                sink.fail(ModelwireError(.cancelled, "call cancelled"))
                self.writeCancel(context: context, callID: callID)
                if self.table.isDrainedIdle { context.close(promise: nil) }
            }
        }
    }

    /// With `coalesceFlushes`, a flush from a caller is deferred to a task queued behind the
    /// writes already waiting on the event loop, so calls started together from other threads
    /// leave in one `write` syscall instead of one each (under concurrency that syscall was the
    /// client's largest cost; a lone call only waits for the rest of the current loop tick).
    func flush(context: ChannelHandlerContext) {
        self.flushesDeferred &+= 1
        guard self.coalesceFlushes, self.flushesDeferred < Self.maxDeferredFlushes else {
            self.flushesDeferred = 0
            context.flush()
            return
        }
        guard !self.flushPending else { return }
        self.flushPending = true
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (handler, context) = bound.value
            handler.flushPending = false
            guard handler.flushesDeferred > 0 else { return }
            handler.flushesDeferred = 0
            context.flush()
        }
    }

    private func writeCancel(context: ChannelHandlerContext, callID: UInt32) {
        guard context.channel.isActive else { return }
        var buffer = context.channel.allocator.buffer(capacity: Frame.headerSize)
        buffer.writeFrameHeader(
            kind: .cancel,
            flags: [],
            method: 0,
            callID: callID,
            timeoutMilliseconds: 0,
            payloadLength: 0
        )
        context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
    }

    private func armDeadline(context: ChannelHandlerContext, callID: UInt32, timeout: TimeAmount) {
        let at = context.eventLoop.now + timeout
        self.deadlines[callID] = (at, timeout)
        if let timer = self.deadlineTimer, timer.at <= at { return }
        self.scheduleDeadlineTimer(context: context, at: at)
    }

    private func scheduleDeadlineTimer(context: ChannelHandlerContext, at: NIODeadline) {
        self.deadlineTimer?.task.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let task = context.eventLoop.scheduleTask(deadline: at) {
            let (handler, context) = loopBound.value
            handler.deadlineTimer = nil
            handler.expireDeadlines(context: context)
        }
        self.deadlineTimer = (at, task)
    }

    /// Fails every call whose deadline has passed (sending CANCEL), then re-arms for the earliest left.
    private func expireDeadlines(context: ChannelHandlerContext) {
        let now = context.eventLoop.now
        let expired = self.deadlines.filter { $0.value.at <= now }
        for (callID, deadline) in expired {
            self.deadlines[callID] = nil
            guard let sink = self.table.timeOut(callID) else { continue }
            sink.fail(
                ModelwireError(.deadlineExceeded, "deadline of \(deadline.timeout.nanoseconds / 1_000_000) ms exceeded")
            )
            self.writeCancel(context: context, callID: callID)
        }
        if let earliest = self.deadlines.values.min(by: { $0.at < $1.at }) {
            self.scheduleDeadlineTimer(context: context, at: earliest.at)
        }
        if self.table.isDrainedIdle { context.close(promise: nil) }
    }

    // MARK: keepalive

    private func startKeepalive(context: ChannelHandlerContext) {
        guard let interval = self.keepalive, self.keepaliveTask == nil else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.framesSinceTick = 0
        self.keepaliveTask = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            let (handler, context) = loopBound.value
            handler.keepaliveTick(context: context)
        }
    }

    private func keepaliveTick(context: ChannelHandlerContext) {
        defer { self.framesSinceTick = 0 }
        if self.framesSinceTick > 0 {
            self.pingOutstanding = false
            return
        }
        if self.pingOutstanding {
            self.failConnection(
                context: context,
                ModelwireError(.unavailable, "no PONG from the server: connection presumed dead")
            )
            return
        }
        self.pingOutstanding = true
        var ping = context.channel.allocator.buffer(capacity: Frame.headerSize + 8)
        var payload = context.channel.allocator.buffer(capacity: 8)
        payload.writeInteger(UInt64(context.eventLoop.now.uptimeNanoseconds))
        ping.writeFrame(Frame(kind: .ping, payload: payload))
        context.writeAndFlush(self.wrapOutboundOut(ping), promise: nil)
    }

    // MARK: failure

    private func failConnection(context: ChannelHandlerContext, _ error: ModelwireError) {
        self.connectionEnded(context: context, error)
        context.close(promise: nil)
    }

    private func connectionEnded(context: ChannelHandlerContext, _ error: ModelwireError) {
        if case .closed = self.table.state { return }
        if case .awaitingHello = self.handshake {
            self.handshake = .failed
            self.helloPromise?.fail(error)
        }
        self.keepaliveTask?.cancel()
        self.keepaliveTask = nil
        self.deadlineTimer?.task.cancel()
        self.deadlineTimer = nil
        self.deadlines.removeAll()
        let sinks = self.table.close(error)
        // Unusable first: a caller whose failure handler starts its next call at once (a closed
        // loop) must not pick this connection again while its channel still looks active.
        self.onEvent(.closed)
        for sink in sinks { sink.fail(error) }
    }
}

@available(*, unavailable)
extension ClientConnectionHandler: Sendable {}
