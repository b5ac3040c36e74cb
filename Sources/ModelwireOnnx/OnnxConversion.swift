import ModelwireML

/// The walk over a graph's nodes in dependency order: the feature path (`main`) is followed from
/// the input through each supported operator, and the label tail hanging off it is dropped.
struct OnnxConversion {
    /// What the last stage of the model is, once known.
    enum Head {
        /// Dense layers (possibly one, for `LinearRegressor`).
        case dense
        case linear(LinearParameters)
        case tree(TreeParameters)
        case forest(ForestParameters)
        case gbdt(GradientBoostingParameters)
    }

    let graph: OnnxGraph
    let inputName: String
    /// The tensor the features flow through now.
    var main: String
    /// Earlier names of the same values as `main` (before an Identity, a Cast to float, ...).
    var aliases: Set<String> = []
    /// Columns of `main` (nil until the input's width is known).
    var width: Int?
    /// Features of the graph input.
    var features: Int?
    /// Tensors computed from labels (ArgMax and what follows): they and their consumers are dropped.
    var labelTensors: Set<String> = []
    /// Outputs of ZipMap, dropped.
    var droppedTensors: Set<String> = []
    /// `1 − p` of a one-unit sigmoid, waiting for its Concat.
    var complement: String?
    var standardization: Standardization?
    var layers: [DenseNetParameters.DenseLayer] = []
    /// Whether the last layer may still take a bias (a MatMul without its Add yet).
    var layerOpen = false
    /// Whether the last layer may still take an activation.
    var pendingActivation = false
    var head: Head?
    var classLabels: [String]?
    /// Whether the scores on `main` are probabilities (an L1 Normalizer on them is then a no-op).
    var probabilities = false
    var task: ModelSnapshot.Task?
    var operators: [String] = []

    init(graph: OnnxGraph, input: OnnxValueInfo) {
        self.graph = graph
        self.inputName = input.name
        self.main = input.name
        if let shape = input.shape, shape.count == 2, shape[1] > 0 {
            self.width = Int(shape[1])
            self.features = Int(shape[1])
        }
    }

    /// Applies one node.
    mutating func apply(_ node: OnnxNode) throws(OnnxError) {
        let onMain = node.inputs.contains(where: isMain)
        if !onMain, !node.inputs.isEmpty, node.inputs.allSatisfy({ labelTensors.contains($0) || isConstant($0) }),
            node.inputs.contains(where: labelTensors.contains)
        {
            return try labelTail(node)
        }
        if node.opType == "Concat", let complement, node.inputs.count == 2, node.inputs[0] == complement,
            isMain(node.inputs[1])
        {
            return try concatBinary(node)
        }
        guard onMain else {
            if node.inputs.contains(where: droppedTensors.contains) {
                throw OnnxError.node(node, "reads the output of ZipMap, which is not supported")
            }
            throw OnnxError.node(
                node,
                node.inputs.isEmpty || node.inputs.allSatisfy(isConstant)
                    ? "operator \(node.opType) on constants only is not supported"
                    : "reads \(node.inputs.filter { !isConstant($0) }) instead of the feature path (\(main)): "
                        + "branching graphs are not supported"
            )
        }
        try dispatch(node)
    }

    private mutating func dispatch(_ node: OnnxNode) throws(OnnxError) {
        switch (node.domain == "ai.onnx" ? "" : node.domain, node.opType) {
        case ("", "Identity"), ("", "Flatten"), ("", "Reshape"), ("", "Cast"): try passThrough(node)
        case ("", "MatMul"): try matMul(node)
        case ("", "Add"): try add(node)
        case ("", "Gemm"): try gemm(node)
        case ("", "Relu"): try activation(node, .relu)
        case ("", "Tanh"): try activation(node, .tanh)
        case ("", "Sigmoid"): try activation(node, .sigmoid)
        case ("", "Softmax"): try softmax(node)
        case ("", "Sub"): try sub(node)
        case ("", "Div"): try div(node)
        case ("", "ArgMax"): try argMax(node)
        case ("ai.onnx.ml", "Scaler"): try scaler(node)
        case ("ai.onnx.ml", "Normalizer"): try normalizer(node)
        case ("ai.onnx.ml", "ZipMap"): try zipMap(node)
        case ("ai.onnx.ml", "LinearClassifier"): try linearClassifier(node)
        case ("ai.onnx.ml", "LinearRegressor"): try linearRegressor(node)
        case ("ai.onnx.ml", "TreeEnsembleClassifier"): try treeEnsemble(node, classifier: true)
        case ("ai.onnx.ml", "TreeEnsembleRegressor"): try treeEnsemble(node, classifier: false)
        default:
            let domain = node.domain.isEmpty ? "" : " (domain \(node.domain))"
            throw OnnxError.node(node, "operator \(node.opType)\(domain) is not supported")
        }
        if node.opType != "ArgMax", node.opType != "ZipMap" { operators.append(node.opType) }
    }

    // MARK: - Tensors

    func isConstant(_ name: String) -> Bool { graph.initializers[name] != nil }

    /// Whether `name` holds the values of the feature path now.
    func isMain(_ name: String) -> Bool { name == main || aliases.contains(name) }

    /// The float values of the constant input `index`.
    func constant(_ node: OnnxNode, _ index: Int) throws(OnnxError) -> OnnxTensor {
        guard index < node.inputs.count, let t = graph.initializers[node.inputs[index]] else {
            throw OnnxError.node(node, "input \(index + 1) must be an initializer (a constant)")
        }
        return t
    }

    func floats(_ node: OnnxNode, _ t: OnnxTensor) throws(OnnxError) -> [Float] {
        guard case .floats(let v) = t.values else {
            throw OnnxError.node(node, "initializer \"\(t.name)\" must hold floats")
        }
        return v
    }

    /// A per-column vector: dims [n], [1, n], or a scalar broadcast to `n`.
    func vector(_ node: OnnxNode, _ t: OnnxTensor, columns n: Int) throws(OnnxError) -> [Float] {
        let v = try floats(node, t)
        if v.count == 1, t.dims.allSatisfy({ $0 == 1 }) { return [Float](repeating: v[0], count: n) }
        guard v.count == n, t.dims.filter({ $0 != 1 }).count <= 1 else {
            throw OnnxError.node(
                node,
                "initializer \"\(t.name)\" has shape \(t.dims); \(n) values (one per column) are needed"
            )
        }
        return v
    }

    /// The width `main` must have for a stage expecting `n` columns; sets it when unknown.
    mutating func expectWidth(_ node: OnnxNode, _ n: Int, _ what: String) throws(OnnxError) {
        if let width, width != n {
            throw OnnxError.node(node, "\(what) expects \(n) columns but its input has \(width)")
        }
        if width == nil, features == nil { features = n }
        width = n
    }

    func int(_ node: OnnxNode, _ name: String, default value: Int64) throws(OnnxError) -> Int64 {
        switch node[name] {
        case nil: return value
        case .int(let i)?: return i
        default: throw OnnxError.node(node, "attribute \(name) must be an integer")
        }
    }

    func string(_ node: OnnxNode, _ name: String, default value: String) throws(OnnxError) -> String {
        switch node[name] {
        case nil: return value
        case .string(let s)?: return s
        default: throw OnnxError.node(node, "attribute \(name) must be a string")
        }
    }

    /// Class labels from `<prefix>_int64s` / `<prefix>_ints` or `<prefix>_strings`.
    func labels(_ node: OnnxNode, _ prefix: String) -> [String]? {
        for suffix in ["_int64s", "_ints"] {
            if case .ints(let v)? = node[prefix + suffix] { return v.map(String.init) }
        }
        if case .strings(let v)? = node[prefix + "_strings"] { return v }
        return nil
    }

    mutating func setLabels(_ node: OnnxNode, _ labels: [String]) throws(OnnxError) {
        if let classLabels, classLabels != labels {
            throw OnnxError.node(node, "class labels \(labels) differ from the labels given before, \(classLabels)")
        }
        classLabels = labels
    }

    /// Moves the feature path to the node's output; `sameValues` for a no-op (the old names stay aliases).
    mutating func advance(_ node: OnnxNode, to output: Int = 0, sameValues: Bool = false) throws(OnnxError) {
        guard output < node.outputs.count, !node.outputs[output].isEmpty else {
            throw OnnxError.node(node, "has no output \(output + 1)")
        }
        if sameValues { aliases.insert(main) } else { aliases = [] }
        main = node.outputs[output]
    }

    // MARK: - Label tail, ZipMap, no-ops

    private mutating func labelTail(_ node: OnnxNode) throws(OnnxError) {
        switch node.opType {
        case "ArrayFeatureExtractor":
            if let t = graph.initializers[node.inputs[0]] {
                switch t.values {
                case .ints(let v): try setLabels(node, v.map(String.init))
                case .strings(let v): try setLabels(node, v)
                case .floats: throw OnnxError.node(node, "class labels must be integers or strings")
                }
            }
        case "Reshape", "Cast", "Identity": break
        default:
            throw OnnxError.node(node, "operator \(node.opType) on the predicted labels is not supported")
        }
        labelTensors.formUnion(node.outputs)
    }

    private mutating func argMax(_ node: OnnxNode) throws(OnnxError) {
        guard head != nil || !layers.isEmpty else {
            throw OnnxError.node(node, "ArgMax of the raw features is not supported")
        }
        labelTensors.formUnion(node.outputs)
    }

    private mutating func zipMap(_ node: OnnxNode) throws(OnnxError) {
        if let labels = labels(node, "classlabels") { try setLabels(node, labels) }
        droppedTensors.formUnion(node.outputs)
    }

    private mutating func passThrough(_ node: OnnxNode) throws(OnnxError) {
        switch node.opType {
        case "Cast":
            guard try int(node, "to", default: 1) == 1 else {
                throw OnnxError.node(node, "Cast of the features to a type other than float is not supported")
            }
        case "Flatten":
            guard try int(node, "axis", default: 1) == 1 else {
                throw OnnxError.node(node, "Flatten with an axis other than 1 is not supported")
            }
        case "Reshape":
            let shape = try constant(node, 1)
            guard case .ints(let v) = shape.values, v.count == 2, v[0] == -1 || v[0] == 0,
                v[1] == -1 || v[1] == Int64(width ?? -1)
            else { throw OnnxError.node(node, "Reshape to anything but [-1, columns] is not supported") }
        default: break
        }
        try advance(node, sameValues: true)
    }

    private mutating func normalizer(_ node: OnnxNode) throws(OnnxError) {
        guard probabilities, try string(node, "norm", default: "MAX") == "L1" else {
            throw OnnxError.node(node, "Normalizer is supported only as L1 on probabilities (a no-op)")
        }
        try advance(node, sameValues: true)
    }

    private mutating func concatBinary(_ node: OnnxNode) throws(OnnxError) {
        let axis = try int(node, "axis", default: 0)
        guard axis == 1 || axis == -1 else { throw OnnxError.node(node, "Concat must join columns (axis 1)") }
        complement = nil
        width = 2
        probabilities = true
        operators.append(node.opType)
        try advance(node)
    }

    // MARK: - Standardisation

    var atHead: Bool { layers.isEmpty && head == nil }

    private mutating func sub(_ node: OnnxNode) throws(OnnxError) {
        // 1 − p after a one-unit sigmoid: scikit-learn's binary probabilities.
        if node.inputs.count == 2, isMain(node.inputs[1]), let one = graph.initializers[node.inputs[0]],
            case .floats(let v) = one.values, v == [1], let last = layers.last, last.activation == .sigmoid,
            last.units == 1
        {
            complement = node.outputs.first
            return
        }
        let mean = try standardizationConstant(node, allowed: standardization == nil)
        standardization = Standardization(mean: mean, scale: .init(repeating: 1, count: mean.count))
        try advance(node)
    }

    private mutating func div(_ node: OnnxNode) throws(OnnxError) {
        let scale = try standardizationConstant(
            node,
            allowed: standardization.map { $0.scale.allSatisfy { $0 == 1 } } ?? true
        )
        guard scale.allSatisfy({ $0 != 0 && $0.isFinite }) else { throw OnnxError.node(node, "divides by zero") }
        standardization = Standardization(
            mean: standardization?.mean ?? .init(repeating: 0, count: scale.count),
            scale: scale
        )
        try advance(node)
    }

    /// The per-feature constant of a `Sub` or `Div` on the input features (standardisation).
    private mutating func standardizationConstant(_ node: OnnxNode, allowed: Bool) throws(OnnxError) -> [Float] {
        guard allowed, atHead, node.inputs.first.map(isMain) == true else {
            throw OnnxError.node(
                node,
                "\(node.opType) is supported only on the input features, before the model (standardisation)"
            )
        }
        let constant = try constant(node, 1)
        let n: Int
        if let width { n = width } else { n = try floats(node, constant).count }
        try expectWidth(node, n, node.opType)
        return try vector(node, constant, columns: n)
    }

    private mutating func scaler(_ node: OnnxNode) throws(OnnxError) {
        guard atHead, standardization == nil else {
            throw OnnxError.node(node, "Scaler is supported only on the input features, before the model")
        }
        func list(_ name: String) throws(OnnxError) -> [Float] {
            switch node[name] {
            case nil: return []
            case .floats(let v)?: return v
            case .float(let f)?: return [f]
            default: throw OnnxError.node(node, "attribute \(name) must be floats")
            }
        }
        var offset = try list("offset")
        var scale = try list("scale")
        guard let n = width ?? [offset.count, scale.count].max(), n > 0 else {
            throw OnnxError.node(node, "the width of the features is unknown")
        }
        try expectWidth(node, n, "Scaler")
        if offset.isEmpty { offset = [0] }
        if scale.isEmpty { scale = [1] }
        if offset.count == 1 { offset = .init(repeating: offset[0], count: n) }
        if scale.count == 1 { scale = .init(repeating: scale[0], count: n) }
        guard offset.count == n, scale.count == n else {
            throw OnnxError.node(
                node,
                "offset (\(offset.count)) and scale (\(scale.count)) must have one value per feature (\(n))"
            )
        }
        guard scale.allSatisfy({ $0 != 0 && $0.isFinite }) else {
            throw OnnxError.node(node, "a scale of 0 cannot be a standardisation")
        }
        standardization = Standardization(mean: offset, scale: scale.map { 1 / $0 })
        try advance(node)
    }

    // MARK: - Result

    /// The snapshot the walk converted.
    func snapshot() throws(OnnxError) -> ModelSnapshot {
        for output in graph.outputs {
            let name = output.name
            guard isMain(name) || labelTensors.contains(name) || droppedTensors.contains(name) else {
                throw OnnxError("graph output \"\(name)\" is not computed by the supported part of the graph")
            }
        }
        guard let features, features > 0 else {
            throw OnnxError("the graph has no model: no supported operator read the input")
        }
        let parameters: ModelSnapshot.Parameters
        var task: ModelSnapshot.Task = self.task ?? .regression
        switch head {
        case nil, .dense?:
            guard let last = layers.last else {
                throw OnnxError("the graph has no model: no layer, linear model or tree")
            }
            switch last.activation {
            case .softmax: task = .classification
            case .sigmoid where last.units == 1 && (probabilities || !labelTensors.isEmpty || classLabels != nil):
                task = .classification
            default: if self.task == nil { task = .regression }
            }
            let loss: Loss =
                task == .regression
                ? .meanSquaredError : last.units == 1 ? .binaryCrossEntropy : .sparseCategoricalCrossEntropy
            parameters = .dense(DenseNetParameters(layers: layers, loss: loss))
        case .linear(let p)?: parameters = .linear(p)
        case .tree(let p)?: parameters = .tree(p)
        case .forest(let p)?: parameters = .forest(p)
        case .gbdt(let p)?: parameters = .gbdt(p)
        }
        var classNames: [String] = []
        if task == .classification {
            let classes = max(width ?? 2, 2)
            classNames = classLabels ?? (0..<classes).map(String.init)
            guard classNames.count == classes else {
                throw OnnxError("the graph has \(classNames.count) class labels for \(classes) probability columns")
            }
        }
        return ModelSnapshot(
            task: task,
            featureNames: (0..<features).map { "f\($0)" },
            classNames: classNames,
            standardization: standardization,
            parameters: parameters,
            training: TrainingSummary(epochsRun: 0, trainingSamples: 0, durationSeconds: 0)
        )
    }
}
