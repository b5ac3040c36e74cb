/// Bounds an ONNX import holds every file to, checked before anything is allocated from a claim
/// in the file (a tensor's dims, a tree's node count).
public struct OnnxLimits: Sendable, Equatable {
    /// Deepest nesting of messages on the wire (protobuf-c itself has no limit and recurses).
    public var maxNestingDepth: Int
    /// Most elements in one tensor or attribute list.
    public var maxTensorElements: Int
    /// Most elements in all tensors and attribute lists of the model together.
    public var maxTotalElements: Int
    /// Most nodes in the graph.
    public var maxNodes: Int

    /// Creates limits.
    public init(maxNestingDepth: Int = 64, maxTensorElements: Int, maxTotalElements: Int, maxNodes: Int = 10_000) {
        self.maxNestingDepth = maxNestingDepth
        self.maxTensorElements = maxTensorElements
        self.maxTotalElements = maxTotalElements
        self.maxNodes = maxNodes
    }

    /// Limits that fit a file of `bytes` bytes: no tensor can hold more elements than the file
    /// has bytes (a float takes 4, a packed int64 at least 1), so a larger claim is refused.
    public static func forFile(bytes: Int) -> OnnxLimits {
        OnnxLimits(maxTensorElements: max(bytes, 1), maxTotalElements: max(bytes, 1))
    }
}
