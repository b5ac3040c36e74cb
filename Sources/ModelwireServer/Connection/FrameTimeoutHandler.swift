import ModelwireProtocol
import NIOCore

/// Bounds how long one frame may take to arrive: all of its bytes within `timeout` of its first
/// (`--frame-timeout-ms`). The idle timer is reset by every byte, so a client trickling one frame
/// a byte at a time would hold the connection and its buffer forever without this.
///
/// Sits right before the frame decoder (after TLS, once that exists) and only counts bytes: it
/// reads each frame's length from its header and follows where frames end, passing the bytes
/// on untouched. When a frame is late it sends `Expired` down the pipeline; the connection
/// handler answers with ERROR deadline_exceeded on call 0 and closes. A bad header is the
/// decoder's business (it fails the connection first). While the channel is not writable the
/// server does not read, so a frame cannot arrive: the stalled-write timeout covers that time
/// and this timer waits.
final class FrameTimeoutHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// A frame did not arrive in time.
    struct Expired: Sendable {
        let milliseconds: Int
    }

    private let timeout: TimeAmount
    private let milliseconds: Int
    /// Header bytes of the current frame seen so far (0 = between frames, or in a body).
    private var headerBytes = 0
    /// The length field being read from the header (its bytes 16–19).
    private var length: UInt32 = 0
    /// Body bytes of the current frame still to come.
    private var bodyRemaining = 0
    private var timer: Scheduled<Void>?

    init(milliseconds: Int) {
        self.milliseconds = milliseconds
        self.timeout = .milliseconds(Int64(milliseconds))
    }

    private var midFrame: Bool { headerBytes > 0 || bodyRemaining > 0 }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let wasMidFrame = midFrame
        let ended = follow(buffer)
        if midFrame {
            // A new frame started in this read (the one timed before, if any, has ended).
            if !wasMidFrame || ended { arm(context) }
        } else {
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    /// Follows frame boundaries through `buffer`; returns whether a frame ended in it.
    private func follow(_ buffer: ByteBuffer) -> Bool {
        var index = buffer.readerIndex
        let end = buffer.writerIndex
        var ended = false
        while index < end {
            if bodyRemaining > 0 {
                let take = min(bodyRemaining, end - index)
                bodyRemaining -= take
                index += take
                if bodyRemaining == 0 { ended = true }
                continue
            }
            if headerBytes == 0, end - index >= Frame.headerSize {
                // The common case: a whole header in this read.
                let declared = buffer.getInteger(at: index + 16, as: UInt32.self) ?? 0
                index += Frame.headerSize
                bodyRemaining = Int(declared)
                if bodyRemaining == 0 { ended = true }
                continue
            }
            let byte = buffer.getInteger(at: index, as: UInt8.self) ?? 0
            if headerBytes >= 16 { length = length << 8 | UInt32(byte) }
            headerBytes += 1
            index += 1
            if headerBytes == Frame.headerSize {
                headerBytes = 0
                bodyRemaining = Int(length)
                length = 0
                if bodyRemaining == 0 { ended = true }
            }
        }
        return ended
    }

    private func arm(_ context: ChannelHandlerContext) {
        timer?.cancel()
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = bound.value
            handler.expired(context)
        }
    }

    private func expired(_ context: ChannelHandlerContext) {
        timer = nil
        guard midFrame else { return }
        guard context.channel.isWritable else {
            arm(context)  // the server is not reading (back-pressure): not the client's delay
            return
        }
        context.fireUserInboundEventTriggered(Expired(milliseconds: milliseconds))
    }
}

@available(*, unavailable)
extension FrameTimeoutHandler: Sendable {}
