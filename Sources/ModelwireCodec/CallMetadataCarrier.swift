/// A request message with the cross-cutting `metadata` field (number 1000 in every v1
/// `*Request`, proto/README.md), so that a client can set and a server read a call's metadata
/// (W3C trace context) without knowing its method. The generated code conforms every request.
public protocol CallMetadataCarrier: ProtobufMessage {
    /// The call's metadata; nil when the caller sent none.
    var metadata: V1.CallMetadata? { get set }
    /// The name of the model the request is about, for logs; nil when it names none.
    var modelName: String? { get }
}

extension CallMetadataCarrier {
    public var modelName: String? { nil }
}
