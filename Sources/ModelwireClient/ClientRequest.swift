import ModelwireCodec
import ModelwireProtocol
import NIOCore

/// Where a call's responses go. Completed exactly once, on the event loop.
enum ResponseSink: Sendable {
    /// A single response (unary and client-streaming calls): called once with the final MESSAGE
    /// frame or an error, on the event loop.
    case callback(@Sendable (Result<Frame, any Error>) -> Void)
    /// Every response frame of a call, then the end (server streaming; client streaming uploads).
    case stream(AsyncThrowingStream<Frame, any Error>.Continuation)

    func deliver(_ frame: Frame, final: Bool) {
        switch self {
        case .callback(let done):
            done(.success(frame))
        case .stream(let c):
            c.yield(frame)
            if final { c.finish() }
        }
    }

    func fail(_ error: ModelwireError) {
        switch self {
        case .callback(let done): done(.failure(error))
        case .stream(let c): c.finish(throwing: error)
        }
    }
}

/// What a caller asks the connection handler to do (written into the channel from any thread).
enum ClientRequest: Sendable {
    /// Opens a call: register `sink` under `callID`, then send `frame` (an encoded REQUEST).
    /// A `timeout` arms a local deadline that fails the call with `deadlineExceeded` and sends CANCEL.
    case start(
        callID: UInt32,
        shape: MethodDescriptor.Shape,
        frame: ByteBuffer,
        timeout: TimeAmount?,
        sink: ResponseSink
    )
    /// Sends a further frame (an encoded client-stream MESSAGE) on an open call; the write fails
    /// when the call has already ended.
    case send(callID: UInt32, frame: ByteBuffer)
    /// The caller gave up: fail the call with `cancelled` and send CANCEL.
    case cancel(callID: UInt32)
}

/// What the handler tells its connection about the connection as a whole.
enum ClientConnectionEvent: Sendable, Equatable {
    /// The server sent GOAWAY: open no new calls here.
    case draining
    /// The connection is closed; every open call has been failed.
    case closed
}
