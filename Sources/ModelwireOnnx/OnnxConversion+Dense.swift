import ModelwireML

/// Dense layers: `MatMul` (+ `Add`) or `Gemm`, then an activation.
extension OnnxConversion {
    mutating func matMul(_ node: OnnxNode) throws(OnnxError) {
        guard node.inputs.count == 2, isMain(node.inputs[0]) else {
            throw OnnxError.node(node, "MatMul must multiply the features by a constant matrix")
        }
        let w = try constant(node, 1)
        guard w.dims.count == 2 else {
            throw OnnxError.node(node, "weight \"\(w.name)\" has shape \(w.dims); a matrix is needed")
        }
        try openLayer(node, inputs: w.dims[0], units: w.dims[1], weights: try floats(node, w), biases: nil)
    }

    mutating func gemm(_ node: OnnxNode) throws(OnnxError) {
        guard node.inputs.count >= 2, isMain(node.inputs[0]) else {
            throw OnnxError.node(node, "Gemm must multiply the features (input A) by a constant")
        }
        guard try int(node, "transA", default: 0) == 0 else { throw OnnxError.node(node, "transA is not supported") }
        let alpha = try float(node, "alpha", default: 1)
        let beta = try float(node, "beta", default: 1)
        let b = try constant(node, 1)
        guard b.dims.count == 2 else {
            throw OnnxError.node(node, "B \"\(b.name)\" has shape \(b.dims); a matrix is needed")
        }
        var weights = try floats(node, b)
        var (inputs, units) = (b.dims[0], b.dims[1])
        if try int(node, "transB", default: 0) != 0 {
            (inputs, units) = (units, inputs)
            var t = [Float](repeating: 0, count: weights.count)
            for i in 0..<inputs { for j in 0..<units { t[i * units + j] = weights[j * inputs + i] } }
            weights = t
        }
        if alpha != 1 { weights = weights.map { $0 * alpha } }
        var biases = [Float](repeating: 0, count: units)
        if node.inputs.count > 2, !node.inputs[2].isEmpty {
            biases = try vector(node, try constant(node, 2), columns: units).map { $0 * beta }
        }
        try openLayer(node, inputs: inputs, units: units, weights: weights, biases: biases)
        layerOpen = false
        pendingActivation = true
    }

    mutating func add(_ node: OnnxNode) throws(OnnxError) {
        guard node.inputs.count == 2, let other = node.inputs.first(where: { !isMain($0) }), isConstant(other),
            layerOpen, let last = layers.indices.last
        else {
            throw OnnxError.node(node, "Add is supported only as the bias right after a MatMul")
        }
        let index = isMain(node.inputs[0]) ? 1 : 0
        layers[last].biases = try vector(node, try constant(node, index), columns: layers[last].units)
        layerOpen = false
        pendingActivation = true
        try advance(node)
    }

    mutating func activation(_ node: OnnxNode, _ activation: Activation) throws(OnnxError) {
        guard layerOpen || pendingActivation, let last = layers.indices.last else {
            throw OnnxError.node(node, "\(node.opType) must follow a MatMul, Add or Gemm")
        }
        layers[last].activation = activation
        layerOpen = false
        pendingActivation = false
        probabilities = activation == .sigmoid && layers[last].units == 1
        try advance(node)
    }

    mutating func softmax(_ node: OnnxNode) throws(OnnxError) {
        let axis = try int(node, "axis", default: -1)
        guard axis == -1 || axis == 1 else { throw OnnxError.node(node, "Softmax must be over columns (axis 1 or -1)") }
        try activation(node, .softmax)
        probabilities = true
    }

    private mutating func openLayer(
        _ node: OnnxNode,
        inputs: Int,
        units: Int,
        weights: [Float],
        biases: [Float]?
    ) throws(OnnxError) {
        guard headIsDenseOrNone else {
            throw OnnxError.node(node, "layers after a linear model or trees are not supported")
        }
        guard inputs > 0, units > 0 else { throw OnnxError.node(node, "an empty weight matrix is not supported") }
        try expectWidth(node, inputs, "the weight matrix")
        layers.append(
            .init(
                inputs: inputs,
                units: units,
                activation: .linear,
                weights: weights,
                biases: biases ?? .init(repeating: 0, count: units)
            )
        )
        head = .dense
        width = units
        layerOpen = biases == nil
        pendingActivation = biases == nil
        try advance(node)
    }

    var headIsDenseOrNone: Bool {
        switch head {
        case nil, .dense?: true
        default: false
        }
    }

    func float(_ node: OnnxNode, _ name: String, default value: Float) throws(OnnxError) -> Float {
        switch node[name] {
        case nil: return value
        case .float(let f)?: return f
        default: throw OnnxError.node(node, "attribute \(name) must be a float")
        }
    }
}
