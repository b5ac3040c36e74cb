import ModelwireProtocol
import NIOCore

extension ChannelHandlerContext {
    /// Writes `error` as an ERROR frame on call 0, then closes the channel: how a connection is
    /// refused before its handshake (plaintext on a TLS port).
    func refuseConnection(_ error: ModelwireError, limits: ProtocolLimits) {
        let channel = self.channel
        writeAndFlush(NIOAny(RefuseConnectionHandler.errorFrame(error, limits: limits))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
