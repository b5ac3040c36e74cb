import ModelwireCodec
import ModelwireProtocol
import NIOCore
import Synchronization

/// A failure before the request reached the server: safe to retry for any method.
struct NotSent: Error {
    var error: ModelwireError
}

extension Connection {
    /// Encodes one frame of a call on the caller's thread, within the server's limits: the
    /// message is packed once, and not at all when its size already breaks a limit.
    /// - Throws: `ModelwireError`: `resourceExhausted` for a message or frame over the server's
    ///   limit, `invalidArgument` for a message protobuf-c cannot encode.
    func encode<M: ProtobufMessage>(
        _ message: M,
        kind: Frame.Kind,
        flags: Frame.Flags,
        method: UInt16,
        callID: UInt32,
        timeoutMilliseconds: UInt32
    ) throws -> ByteBuffer {
        var buffer = self.channel.allocator.buffer(capacity: 256)
        do {
            try self.sendCodec.writeFrame(
                message,
                kind: kind,
                flags: flags,
                method: method,
                callID: callID,
                timeoutMilliseconds: timeoutMilliseconds,
                maxMessageBytes: self.serverLimits.maxMessageBytes,
                maxPayloadBytes: self.serverLimits.maxFrameBytes,
                maxRatio: self.serverLimits.maxDecompressionRatio,
                ratioCheckMinBytes: self.serverLimits.ratioCheckMinBytes,
                into: &buffer
            )
        } catch {
            switch error {
            case .codec(let error):
                throw ModelwireError(.invalidArgument, "cannot encode the request: \(error)", cause: error)
            case .messageTooLarge(let size, let limit):
                throw ModelwireError(
                    .resourceExhausted,
                    "request message of \(size) bytes exceeds the server's limit of \(limit) bytes"
                )
            case .payloadTooLarge(let size, let limit):
                throw ModelwireError(
                    .resourceExhausted,
                    "request frame of \(size) bytes exceeds the server's limit of \(limit) bytes"
                )
            }
        }
        return buffer
    }

    private func callID() throws -> UInt32 {
        guard let id = self.allocateCallID() else {
            throw NotSent(error: ModelwireError(.unavailable, "call ids exhausted on this connection"))
        }
        return id
    }

    /// Starts a unary call: one REQUEST, one response frame. Encodes on the calling thread and
    /// hands the frame to the channel; called on the connection's event loop, the write and,
    /// later, `completion` happen on that thread with no hop.
    /// - Parameter completion: Called once, with the final MESSAGE frame (payload still encoded)
    ///   or the error (`NotSent` when the request never left); on the event loop, or at once on
    ///   the calling thread when the call fails before it is written.
    /// - Returns: The call id (0 when the call failed before it got one).
    /// - Important: The pool reserved capacity for this call; it is released on every path.
    @discardableResult
    func startUnary<Request: ProtobufMessage>(
        _ method: MethodDescriptor,
        _ request: Request,
        deadline: Deadline,
        completion: @escaping @Sendable (Result<Frame, any Error>) -> Void
    ) -> UInt32 {
        let id: UInt32
        let timeout: Deadline.Remaining
        let frame: ByteBuffer
        do {
            timeout = try deadline.remaining()
            id = try self.callID()
            frame = try self.encode(
                request,
                kind: .request,
                flags: .endStream,
                method: method.id,
                callID: id,
                timeoutMilliseconds: timeout.wireMilliseconds
            )
        } catch {
            self.release()
            completion(.failure(error))
            return 0
        }
        let finish: @Sendable (Result<Frame, any Error>) -> Void = { result in
            self.release()
            completion(result)
        }
        let start = ClientRequest.start(
            callID: id,
            shape: .unary,
            frame: frame,
            timeout: timeout.timeAmount,
            sink: .callback(finish)
        )
        let channel = self.channel
        if channel.eventLoop.inEventLoop && channel.isActive {
            // The handler is in the pipeline and takes the call synchronously: the sink is its.
            channel.writeAndFlush(start, promise: nil)
        } else {
            let written = channel.eventLoop.makePromise(of: Void.self)
            written.futureResult.whenFailure { error in  // the handler never saw the call
                let closed = ModelwireError(.unavailable, "connection closed: \(error)", cause: error)
                finish(.failure(NotSent(error: closed)))
            }
            channel.writeAndFlush(start, promise: written)
        }
        return id
    }

    /// A unary call from a task: cancelling the task cancels the call (CANCEL is sent).
    /// - Returns: The final MESSAGE frame (its payload still encoded).
    /// - Important: The pool reserved capacity for this call; it is released on every path.
    func unary<Request: ProtobufMessage>(
        _ method: MethodDescriptor,
        _ request: Request,
        deadline: Deadline
    ) async throws -> Frame {
        if Task.isCancelled {
            self.release()
            throw ModelwireError(.cancelled, "call cancelled")
        }
        let id = Mutex<UInt32>(0)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Frame, any Error>) in
                let started = self.startUnary(method, request, deadline: deadline) { continuation.resume(with: $0) }
                id.withLock { $0 = started }
                // A cancel that came before the id was stored found 0 and sent nothing.
                if Task.isCancelled && started != 0 { self.cancel(callID: started) }
            }
        } onCancel: {
            let started = id.withLock { $0 }
            if started != 0 { self.cancel(callID: started) }
        }
    }

    /// Opens a call whose responses arrive as a stream of frames (server streaming), or whose
    /// single response should not block sending (client streaming).
    /// - Returns: The call id and its response frames. Dropping or cancelling the iteration sends CANCEL.
    /// - Important: The pool reserved capacity for this call; it is released when the stream
    ///   ends, or here when the call does not start.
    func openStream(
        _ method: MethodDescriptor,
        deadline: Deadline,
        firstFrame: (UInt32, Deadline.Remaining) throws -> ByteBuffer
    )
        async throws -> (UInt32, AsyncThrowingStream<Frame, any Error>)
    {
        var handedOff = false
        defer { if !handedOff { self.release() } }
        let timeout = try deadline.remaining()
        let id = try self.callID()
        let frame = try firstFrame(id, timeout)
        let (stream, continuation) = AsyncThrowingStream<Frame, any Error>.makeStream()
        let channel = self.channel
        handedOff = true
        continuation.onTermination = { [self] reason in
            self.release()
            if case .cancelled = reason {
                channel.writeAndFlush(ClientRequest.cancel(callID: id), promise: nil)
            }
        }
        do {
            try await channel.writeAndFlush(
                ClientRequest.start(
                    callID: id,
                    shape: method.shape,
                    frame: frame,
                    timeout: timeout.timeAmount,
                    sink: .stream(continuation)
                )
            )
        } catch {
            continuation.finish(throwing: ModelwireError(.unavailable, "connection closed"))
            throw NotSent(error: ModelwireError(.unavailable, "connection closed: \(error)", cause: error))
        }
        return (id, stream)
    }

    /// One call ended; wakes callers waiting for capacity when the connection was full.
    func release() {
        let before = self.inFlight.subtract(1, ordering: .relaxed).oldValue
        if before >= self.serverLimits.maxConcurrentCalls { self.onRelease() }
    }

    /// Sends a further client-stream frame; waits until it is written (backpressure).
    /// - Throws: When the call has ended (the server answered early) or the connection closed.
    func send(callID: UInt32, frame: ByteBuffer) async throws {
        try await self.channel.writeAndFlush(ClientRequest.send(callID: callID, frame: frame))
    }

    /// Cancels an open call (a no-op when it has ended).
    func cancel(callID: UInt32) {
        self.channel.writeAndFlush(ClientRequest.cancel(callID: callID), promise: nil)
    }
}
