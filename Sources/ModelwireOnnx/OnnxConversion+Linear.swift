import ModelwireML

/// `LinearClassifier` and `LinearRegressor` (ai.onnx.ml).
extension OnnxConversion {
    /// Coefficients are class-major in ONNX (`classes × features`); Modelwire's are
    /// `features × outputs`. SOFTMAX is multinomial logistic regression; LOGISTIC with two
    /// classes whose rows are opposite (scikit-learn's binary export) is the same as a softmax over
    /// `[0, z]`; NONE is a linear SVM's decision scores.
    mutating func linearClassifier(_ node: OnnxNode) throws(OnnxError) {
        guard atHead else {
            throw OnnxError.node(node, "LinearClassifier after other layers is not supported")
        }
        guard let labels = labels(node, "classlabels"), labels.count >= 2 else {
            throw OnnxError.node(
                node,
                "LinearClassifier needs at least two class labels (classlabels_ints or _strings)"
            )
        }
        let (coefficients, intercepts) = try coefficientsAndIntercepts(node)
        let rows = coefficients.count / max(intercepts.count, 1)
        guard intercepts.count >= 1, coefficients.count == rows * intercepts.count, rows > 0 else {
            throw OnnxError.node(
                node,
                "\(coefficients.count) coefficients do not split into \(intercepts.count) rows of intercepts"
            )
        }
        let n = rows
        try expectWidth(node, n, "LinearClassifier")
        let classes = labels.count
        let transform = try string(node, "post_transform", default: "NONE")
        var outputs = intercepts.count
        var columnMajor = coefficients
        var biases = intercepts
        let kind: LinearParameters.Kind
        switch (transform, outputs) {
        case ("SOFTMAX", classes):
            kind = .logistic
        case ("LOGISTIC", 2) where classes == 2:
            let opposite =
                (0..<n).allSatisfy { coefficients[$0] == -coefficients[n + $0] } && intercepts[0] == -intercepts[1]
            guard opposite else {
                throw OnnxError.node(node, "LOGISTIC over two independent rows (one-vs-rest) is not supported")
            }
            columnMajor = [Float](repeating: 0, count: n) + coefficients[n...]
            biases = [0, intercepts[1]]
            kind = .logistic
        case ("LOGISTIC", 1) where classes == 2:
            columnMajor = [Float](repeating: 0, count: n) + coefficients
            biases = [0, intercepts[0]]
            outputs = 2
            kind = .logistic
        case ("NONE", classes) where classes >= 3, ("NONE", 1) where classes == 2:
            kind = .svm
        default:
            throw OnnxError.node(
                node,
                "post_transform \(transform) with \(outputs) coefficient rows for \(classes) classes is not supported"
            )
        }
        var weights = [Float](repeating: 0, count: n * outputs)
        for k in 0..<outputs { for i in 0..<n { weights[i * outputs + k] = columnMajor[k * n + i] } }
        head = .linear(LinearParameters(kind: kind, inputs: n, outputs: outputs, weights: weights, biases: biases))
        try setLabels(node, labels)
        task = .classification
        width = classes
        probabilities = kind == .logistic
        if let label = node.outputs.first { labelTensors.insert(label) }
        try advance(node, to: 1)
    }

    /// A linear regression is a one-layer dense network without activation.
    mutating func linearRegressor(_ node: OnnxNode) throws(OnnxError) {
        guard atHead else { throw OnnxError.node(node, "LinearRegressor after other layers is not supported") }
        guard try int(node, "targets", default: 1) == 1, try string(node, "post_transform", default: "NONE") == "NONE"
        else {
            throw OnnxError.node(node, "only one target and post_transform NONE are supported")
        }
        let (coefficients, intercepts) = try coefficientsAndIntercepts(node)
        guard intercepts.count <= 1, !coefficients.isEmpty else {
            throw OnnxError.node(node, "one intercept and a coefficient per feature are needed")
        }
        try expectWidth(node, coefficients.count, "LinearRegressor")
        layers = [
            .init(
                inputs: coefficients.count,
                units: 1,
                activation: .linear,
                weights: coefficients,
                biases: [intercepts.first ?? 0]
            )
        ]
        head = .dense
        task = .regression
        width = 1
        try advance(node)
    }

    private func coefficientsAndIntercepts(_ node: OnnxNode) throws(OnnxError) -> ([Float], [Float]) {
        guard case .floats(let coefficients)? = node["coefficients"] else {
            throw OnnxError.node(node, "attribute coefficients (floats) is missing")
        }
        var intercepts: [Float] = []
        switch node["intercepts"] {
        case nil: break
        case .floats(let v)?: intercepts = v
        default: throw OnnxError.node(node, "attribute intercepts must be floats")
        }
        return (coefficients, intercepts)
    }
}
