import ModelwireCodec
import ModelwireProtocol
import NIOCore

extension ChannelHandlerContext {
    /// Writes `error` as an ERROR frame on call 0, then closes the channel: how a connection is
    /// refused before its handshake (too many connections, plaintext on a TLS port).
    func refuseConnection(_ error: ModelwireError, limits: ProtocolLimits) {
        var buffer = channel.allocator.buffer(capacity: 160)
        try? FramePayloadCodec(limits: limits, peerAcceptsZlib: false).writeFrame(
            error.status,
            kind: .error,
            into: &buffer
        )
        let channel = self.channel
        writeAndFlush(NIOAny(buffer)).whenComplete { _ in channel.close(promise: nil) }
    }
}
