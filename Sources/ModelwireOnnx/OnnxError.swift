/// Why an ONNX model cannot be imported: a clear sentence naming the node (or initializer) at fault.
public struct OnnxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The sentence, e.g. `node "m1" (Conv): operator Conv is not supported`.
    public var message: String

    /// Creates an error.
    public init(_ message: String) {
        self.message = message
    }

    /// An error about one node: `node "name" (OpType): reason`.
    static func node(_ node: OnnxNode, _ reason: String) -> OnnxError {
        OnnxError("node \(node.label): \(reason)")
    }

    /// The message.
    public var description: String { message }
}
