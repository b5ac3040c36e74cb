import CModelwireOnnx

/// Reads an ONNX `ModelProto` with protobuf-c and copies what the converter needs into Swift
/// values, holding every count to the limits before copying it.
struct OnnxReader {
    let limits: OnnxLimits
    /// Elements copied so far (tensors and attribute lists), against `limits.maxTotalElements`.
    private var elements = 0

    init(limits: OnnxLimits) {
        self.limits = limits
    }

    /// Parses `bytes`: first the nesting depth on the wire, then protobuf-c, then the copy.
    static func read(_ bytes: [UInt8], limits: OnnxLimits) throws(OnnxError) -> OnnxModel {
        let verdict = bytes.withUnsafeBytes { WireNesting.check($0, limit: limits.maxNestingDepth) }
        switch verdict {
        case .notMessage:
            throw OnnxError("the file is not an ONNX model: not a well-formed protobuf message (truncated?)")
        case .tooDeep:
            throw OnnxError(
                "the file nests messages deeper than \(limits.maxNestingDepth) levels (subgraphs are not supported)"
            )
        case .message: break
        }
        let unpacked = bytes.withUnsafeBufferPointer { onnx__model_proto__unpack(nil, $0.count, $0.baseAddress) }
        guard let unpacked else {
            throw OnnxError(
                "the file is not an ONNX model: protobuf-c cannot unpack it as onnx.ModelProto (truncated?)"
            )
        }
        defer { onnx__model_proto__free_unpacked(unpacked, nil) }
        var reader = OnnxReader(limits: limits)
        return try reader.model(unpacked.pointee)
    }

    private mutating func model(_ m: Onnx__ModelProto) throws(OnnxError) -> OnnxModel {
        var opsets: [String: Int64] = [:]
        for entry in buffer(m.opset_import, m.n_opset_import) {
            guard let entry else { continue }
            let domain = try string(entry.pointee.domain, "opset_import domain")
            opsets[domain] = max(opsets[domain] ?? 0, entry.pointee.version)
        }
        var metadata: [String: String] = [:]
        for entry in buffer(m.metadata_props, m.n_metadata_props) {
            guard let entry else { continue }
            metadata[try string(entry.pointee.key, "metadata key")] = try string(entry.pointee.value, "metadata value")
        }
        guard let graph = m.graph else { throw OnnxError("the model has no graph") }
        guard m.n_functions == 0 else { throw OnnxError("the model defines local functions, which are not supported") }
        return OnnxModel(
            irVersion: m.has_ir_version != 0 ? m.ir_version : 0,
            opsets: opsets,
            producerName: try string(m.producer_name, "producer_name"),
            producerVersion: try string(m.producer_version, "producer_version"),
            metadata: metadata,
            graph: try self.graph(graph.pointee)
        )
    }

    private mutating func graph(_ g: Onnx__GraphProto) throws(OnnxError) -> OnnxGraph {
        guard g.n_node <= limits.maxNodes else {
            throw OnnxError("the graph has \(g.n_node) nodes, over the limit of \(limits.maxNodes)")
        }
        var nodes: [OnnxNode] = []
        for (index, n) in buffer(g.node, g.n_node).enumerated() {
            guard let n else { continue }
            nodes.append(try node(n.pointee, index: index))
        }
        guard g.n_sparse_initializer == 0 else { throw OnnxError("sparse initializers are not supported") }
        var initializers: [String: OnnxTensor] = [:]
        for t in buffer(g.initializer, g.n_initializer) {
            guard let t else { continue }
            let name = try string(t.pointee.name, "initializer name")
            let user = nodes.first { $0.inputs.contains(name) }.map { " (used by node \($0.label))" } ?? ""
            initializers[name] = try tensor(t.pointee, what: "initializer \"\(name)\"\(user)")
        }
        var inputs: [OnnxValueInfo] = []
        for v in buffer(g.input, g.n_input) {
            guard let v else { continue }
            let info = try valueInfo(v.pointee)
            if initializers[info.name] == nil { inputs.append(info) }
        }
        var outputs: [OnnxValueInfo] = []
        for v in buffer(g.output, g.n_output) {
            guard let v else { continue }
            outputs.append(try valueInfo(v.pointee))
        }
        return OnnxGraph(nodes: nodes, initializers: initializers, inputs: inputs, outputs: outputs)
    }

    private mutating func node(_ n: Onnx__NodeProto, index: Int) throws(OnnxError) -> OnnxNode {
        let name = try string(n.name, "node name")
        let opType = try string(n.op_type, "op_type")
        let label = name.isEmpty ? "#\(index) (\(opType))" : "\"\(name)\" (\(opType))"
        var attributes: [String: OnnxAttribute] = [:]
        for a in buffer(n.attribute, n.n_attribute) {
            guard let a else { continue }
            let attributeName = try string(a.pointee.name, "attribute name")
            let what = "node \(label): attribute \(attributeName)"
            if let value = try attribute(a.pointee, what: what) { attributes[attributeName] = value }
        }
        return OnnxNode(
            name: name,
            opType: opType,
            domain: try string(n.domain, "node domain"),
            inputs: try strings(n.input, n.n_input, "node input"),
            outputs: try strings(n.output, n.n_output, "node output"),
            attributes: attributes,
            label: label
        )
    }

    private mutating func attribute(_ a: Onnx__AttributeProto, what: String) throws(OnnxError) -> OnnxAttribute? {
        if a.g != nil || a.n_graphs > 0 { throw OnnxError("\(what): subgraphs are not supported") }
        if let t = a.t { return .tensor(try tensor(t.pointee, what: what)) }
        if a.n_floats > 0 {
            try claim(a.n_floats, what)
            return .floats(Array(UnsafeBufferPointer(start: a.floats, count: a.n_floats)))
        }
        if a.n_ints > 0 {
            try claim(a.n_ints, what)
            return .ints(Array(UnsafeBufferPointer(start: a.ints, count: a.n_ints)))
        }
        if a.n_strings > 0 {
            try claim(a.n_strings, what)
            var values: [String] = []
            for s in UnsafeBufferPointer(start: a.strings, count: a.n_strings) { values.append(try bytes(s, what)) }
            return .strings(values)
        }
        if a.has_f != 0 { return .float(a.f) }
        if a.has_i != 0 { return .int(a.i) }
        if a.has_s != 0 { return .string(try bytes(a.s, what)) }
        // An empty list is typed only by `type`.
        switch a.type {
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: return .floats([])
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS: return .ints([])
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: return .strings([])
        default: return nil
        }
    }

    /// Copies a tensor after checking that its dims claim no more than the limits and exactly
    /// the values it holds.
    private mutating func tensor(_ t: Onnx__TensorProto, what: String) throws(OnnxError) -> OnnxTensor {
        var dims: [Int] = []
        var count = 1
        for d in UnsafeBufferPointer(start: t.dims, count: t.n_dims) {
            guard d >= 0 else { throw OnnxError("\(what): negative dimension \(d)") }
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(d))
            guard !overflow, product <= limits.maxTensorElements else {
                throw OnnxError(
                    "\(what): dims \(Array(UnsafeBufferPointer(start: t.dims, count: t.n_dims))) claim more than "
                        + "the limit of \(limits.maxTensorElements) elements"
                )
            }
            count = product
            dims.append(Int(d))
        }
        guard t.n_external_data == 0, t.data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL else {
            throw OnnxError("\(what): external tensor data is not supported")
        }
        guard t.segment == nil else { throw OnnxError("\(what): segmented tensors are not supported") }
        try claim(count, what)
        let name = try string(t.name, "tensor name")
        let raw = t.has_raw_data != 0 ? t.raw_data : ProtobufCBinaryData(len: 0, data: nil)
        /// The values from raw_data (little-endian, as ONNX writes it) or else from the typed field.
        func copied<T>(_ typed: UnsafeMutablePointer<T>?, _ n: Int, _ kind: String) throws(OnnxError) -> [T] {
            let fromRaw = raw.len > 0 || n == 0
            let held = fromRaw ? raw.len / MemoryLayout<T>.size : n
            guard held == count, !fromRaw || raw.len % MemoryLayout<T>.size == 0 else {
                throw OnnxError(
                    "\(what): dims \(dims) claim \(count) elements but the tensor holds \(held) \(kind) values"
                        + (fromRaw ? " in \(raw.len) bytes of raw_data" : "")
                )
            }
            guard fromRaw else { return Array(UnsafeBufferPointer(start: typed, count: count)) }
            return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                if count > 0 {
                    UnsafeMutableRawBufferPointer(buffer).copyMemory(
                        from: UnsafeRawBufferPointer(start: raw.data, count: raw.len)
                    )
                }
                initialized = count
            }
        }
        let values: OnnxTensor.Values
        switch Int(t.data_type) {
        case Int(ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT.rawValue):
            values = .floats(try copied(t.float_data, t.n_float_data, "float32"))
        case Int(ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE.rawValue):
            values = .floats(try copied(t.double_data, t.n_double_data, "float64").map { Float($0) })
        case Int(ONNX__TENSOR_PROTO__DATA_TYPE__INT64.rawValue):
            values = .ints(try copied(t.int64_data, t.n_int64_data, "int64"))
        case Int(ONNX__TENSOR_PROTO__DATA_TYPE__INT32.rawValue):
            values = .ints(try copied(t.int32_data, t.n_int32_data, "int32").map { Int64($0) })
        case Int(ONNX__TENSOR_PROTO__DATA_TYPE__STRING.rawValue):
            guard t.n_string_data == count else {
                throw OnnxError(
                    "\(what): dims \(dims) claim \(count) elements but the tensor holds \(t.n_string_data) strings"
                )
            }
            var strings: [String] = []
            for s in UnsafeBufferPointer(start: t.string_data, count: count) { strings.append(try bytes(s, what)) }
            values = .strings(strings)
        default:
            throw OnnxError(
                "\(what): tensor element type \(t.data_type) is not supported (float, double, int32, int64, string)"
            )
        }
        return OnnxTensor(name: name, dims: dims, values: values)
    }

    private func valueInfo(_ v: Onnx__ValueInfoProto) throws(OnnxError) -> OnnxValueInfo {
        let name = try string(v.name, "value name")
        guard let type = v.type, type.pointee.value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE,
            let tensor = type.pointee.tensor_type
        else { return OnnxValueInfo(name: name, elementType: 0, shape: nil) }
        var shape: [Int64]?
        if let s = tensor.pointee.shape {
            shape = buffer(s.pointee.dim, s.pointee.n_dim).map { d in
                guard let d, d.pointee.value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE else {
                    return -1
                }
                return d.pointee.dim_value
            }
        }
        return OnnxValueInfo(name: name, elementType: tensor.pointee.elem_type, shape: shape)
    }

    private mutating func claim(_ count: Int, _ what: String) throws(OnnxError) {
        guard count <= limits.maxTensorElements else {
            throw OnnxError("\(what): \(count) elements, over the limit of \(limits.maxTensorElements)")
        }
        elements += count
        guard elements <= limits.maxTotalElements else {
            throw OnnxError(
                "\(what): the model holds more than the limit of \(limits.maxTotalElements) elements in all"
            )
        }
    }

    private func buffer<T>(_ p: UnsafeMutablePointer<T>?, _ n: Int) -> UnsafeBufferPointer<T> {
        UnsafeBufferPointer(start: p, count: p == nil ? 0 : n)
    }

    private func string(_ p: UnsafeMutablePointer<CChar>?, _ what: String) throws(OnnxError) -> String {
        guard let p else { return "" }
        guard let s = String(validatingCString: p) else { throw OnnxError("\(what) is not UTF-8") }
        return s
    }

    private func strings(
        _ p: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
        _ n: Int,
        _ what: String
    ) throws(OnnxError) -> [String] {
        var values: [String] = []
        for s in buffer(p, n) { values.append(try string(s, what)) }
        return values
    }

    private func bytes(_ b: ProtobufCBinaryData, _ what: String) throws(OnnxError) -> String {
        guard b.len > 0 else { return "" }
        guard let s = String(validating: UnsafeBufferPointer(start: b.data, count: b.len), as: UTF8.self) else {
            throw OnnxError("\(what): a string is not UTF-8")
        }
        return s
    }
}
