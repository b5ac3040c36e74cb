import Logging
import ModelwireCodec
import ModelwireProtocol
import NIOCore
import NIOSSL

/// The first handler of a connection on a TLS port. A peer whose first byte opens a TLS
/// handshake record (0x16) gets `NIOSSLServerHandler` in this handler's place; any other peer is
/// speaking plaintext (a client without TLS): it is answered, in plaintext, with an ERROR
/// `failed_precondition` saying the port needs TLS, then closed, so that it fails at once with a
/// reason instead of waiting out a handshake timeout.
final class TLSDetectHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The first byte of a TLS record carrying a handshake message (RFC 8446 §5.1).
    static let handshakeRecord: UInt8 = 0x16

    private let tls: ServerTLSContext
    private let limits: ProtocolLimits
    private let logger: Logger
    private var refused = false

    init(tls: ServerTLSContext, limits: ProtocolLimits, logger: Logger) {
        self.tls = tls
        self.limits = limits
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        let bytes = unwrapInboundIn(data)
        guard let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) else { return }
        guard first == Self.handshakeRecord else {
            refusePlaintext(context: context)
            return
        }
        do {
            guard let current = tls.current else { throw ServerRuntimeError(.tlsFilesInvalid, "no TLS context") }
            let handler = NIOSSLServerHandler(context: current)
            try context.pipeline.syncOperations.addHandler(handler, position: .after(self))
        } catch {
            logger.error("cannot start TLS on a connection: \(error)")
            context.close(promise: nil)
            return
        }
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func refusePlaintext(context: ChannelHandlerContext) {
        refused = true
        logger.debug(
            "a plaintext client on the TLS port was refused",
            metadata: ["modelwire.peer": "\(context.channel.remoteAddress.map { "\($0)" } ?? "?")"]
        )
        let error = ModelwireError(
            .failedPrecondition,
            "this server speaks TLS on this port; connect with TLS (modelwire --tls, or the client's TLS settings)"
        )
        context.refuseConnection(error, limits: limits)
    }
}

@available(*, unavailable)
extension TLSDetectHandler: Sendable {}
