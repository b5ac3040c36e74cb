/// The parts of an ONNX `ModelProto` the converter reads, copied out of protobuf-c's structs.
struct OnnxModel: Sendable {
    /// `ir_version`.
    var irVersion: Int64
    /// Operator set versions by domain ("" is ai.onnx); a repeated entry keeps the highest.
    var opsets: [String: Int64]
    /// `producer_name` and `producer_version`.
    var producerName: String
    var producerVersion: String
    /// `metadata_props` (a key given twice keeps its last value).
    var metadata: [String: String]
    /// The main graph.
    var graph: OnnxGraph
}

/// A graph: its nodes, constant tensors and named inputs and outputs.
struct OnnxGraph: Sendable {
    var nodes: [OnnxNode]
    /// Initializers by name.
    var initializers: [String: OnnxTensor]
    /// Graph inputs that are not initializers, with their element type and shape (nil: unknown).
    var inputs: [OnnxValueInfo]
    var outputs: [OnnxValueInfo]
}

/// A graph input or output.
struct OnnxValueInfo: Sendable {
    var name: String
    /// `TensorProto.DataType` of a tensor value (0 when not a tensor or not given).
    var elementType: Int32
    /// Dimensions, -1 where symbolic or unknown; nil when no shape is given.
    var shape: [Int64]?
}

/// One node.
struct OnnxNode: Sendable {
    var name: String
    var opType: String
    /// "" (or "ai.onnx") for the default domain, "ai.onnx.ml" for the ML operators.
    var domain: String
    var inputs: [String]
    var outputs: [String]
    var attributes: [String: OnnxAttribute]

    /// `"name" (OpType)`, or `#index (OpType)` for an unnamed node: how errors name it.
    var label: String

    /// The attribute `name`, if present.
    subscript(_ name: String) -> OnnxAttribute? { attributes[name] }
}

/// An attribute value (graphs are refused while reading).
enum OnnxAttribute: Sendable {
    case float(Float)
    case int(Int64)
    case string(String)
    case tensor(OnnxTensor)
    case floats([Float])
    case ints([Int64])
    case strings([String])
}

/// A constant tensor with its values in one of three element kinds.
struct OnnxTensor: Sendable {
    /// The values, in row-major order.
    enum Values: Sendable {
        case floats([Float])
        case ints([Int64])
        case strings([String])
    }

    var name: String
    var dims: [Int]
    var values: Values
}
