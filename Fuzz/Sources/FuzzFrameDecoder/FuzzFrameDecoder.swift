import ModelwireCodec
import ModelwireProtocol
import NIOCore

/// libFuzzer entry: the input is a byte stream as a server reads it. Frames are cut with the
/// real decoder and limits; each payload is inflated (with the limits) and decoded as the
/// message its kind and method imply. Any crash, leak or hang is a bug; typed errors are fine.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var buffer = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: size))
    let limits = ProtocolLimits.defaults { $0.maxFrameBytes = 1 << 16; $0.maxMessageBytes = 1 << 20 }
    var decoder = FrameDecoder(maxPayloadBytes: limits.maxFrameBytes)
    let codec = FramePayloadCodec(limits: limits, peerAcceptsZlib: true)
    while let frame = try? decoder.decode(buffer: &buffer) {
        switch frame.kind {
        case .hello:
            _ = try? codec.decode(frame, as: V1.ClientHello.self)
            _ = try? codec.decode(frame, as: V1.ServerHello.self)
        case .error:
            _ = try? codec.decode(frame, as: V1.Status.self)
        case .goAway:
            _ = try? codec.decode(frame, as: V1.GoAway.self)
        case .request, .message:
            guard let method = MethodDescriptor.lookup(frame.method) else { continue }
            _ = try? codec.decodeAny(frame, as: method.requestType)
            _ = try? codec.decodeAny(frame, as: method.responseType)
        default:
            continue
        }
    }
    _ = try? decoder.decodeLast(buffer: &buffer, seenEOF: true)
    return 0
}

extension FramePayloadCodec {
    /// Opens the existential so the generic decoder can be called with a runtime type.
    func decodeAny(_ frame: Frame, as type: any ProtobufMessage.Type) throws -> any ProtobufMessage {
        func open<M: ProtobufMessage>(_ t: M.Type) throws -> any ProtobufMessage { try self.decode(frame, as: t) }
        return try open(type)
    }
}
