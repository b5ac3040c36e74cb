import ModelwireML

/// Collects the nodes, initializers and outputs of the exported graph, then writes a `GraphProto`.
struct OnnxGraphBuilder {
    enum Attribute {
        case int(Int64)
        case string(String)
        case ints([Int64])
        case floats([Float])
        case strings([String])
    }

    private let features: Int
    private let inputName: String
    private var nodes: [ProtobufWriter] = []
    private var initializers: [ProtobufWriter] = []
    private var outputs: [(name: String, type: Int64, shape: [Int?])] = []
    private var counter = 0

    init(features: Int, inputName: String) {
        self.features = features
        self.inputName = inputName
    }

    /// Adds a node; returns its (first) output.
    @discardableResult
    mutating func node(
        _ op: String,
        _ inputs: [String],
        _ attributes: [String: Attribute] = [:],
        domain: String = "",
        outputs: [String]? = nil
    ) -> String {
        counter += 1
        let outs = outputs ?? ["\(op.lowercased())_\(counter)"]
        var n = ProtobufWriter()
        for i in inputs { n.string(1, i) }
        for o in outs { n.string(2, o) }
        n.string(3, "\(op)_\(counter)")
        n.string(4, op)
        for (name, value) in attributes.sorted(by: { $0.key < $1.key }) {
            n.message(5) { a in
                a.string(1, name)
                switch value {
                case .int(let v):
                    a.int(3, v)
                    a.int(20, 2)
                case .string(let v):
                    a.string(4, v)
                    a.int(20, 3)
                case .floats(let v):
                    a.packedFloats(7, v)
                    a.int(20, 6)
                case .ints(let v):
                    a.packedInts(8, v)
                    a.int(20, 7)
                case .strings(let v):
                    for s in v { a.string(9, s) }
                    a.int(20, 8)
                }
            }
        }
        if !domain.isEmpty { n.string(7, domain) }
        nodes.append(n)
        return outs[0]
    }

    /// Adds a float initializer; returns its name.
    mutating func floats(_ name: String, _ values: [Float], dims: [Int]) -> String {
        var t = ProtobufWriter()
        t.packedInts(1, dims.map(Int64.init))
        t.int(2, 1)  // FLOAT
        t.string(8, name)
        t.data(9, values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } })
        initializers.append(t)
        return name
    }

    /// Adds an int64 initializer; returns its name.
    mutating func ints(_ name: String, _ values: [Int64], dims: [Int]) -> String {
        var t = ProtobufWriter()
        t.packedInts(1, dims.map(Int64.init))
        t.int(2, 7)  // INT64
        t.string(8, name)
        t.packedInts(7, values)
        initializers.append(t)
        return name
    }

    mutating func output(_ tensor: String, name: String, columns: Int?, type: Int64 = 1) {
        node("Identity", [tensor], outputs: [name])
        outputs.append((name, type, columns.map { [nil, $0] } ?? [nil]))
    }

    /// `probabilities` (or `scores`) and their ArgMax as `label`.
    mutating func classification(probabilities p: String, classes: Int, name: String) {
        output(p, name: name, columns: classes)
        let label = node("ArgMax", [p], ["axis": .int(1), "keepdims": .int(0)])
        output(label, name: "label", columns: nil, type: 7)
    }

    /// `[1 − p, p]` of a one-column probability.
    mutating func binaryProbabilities(_ p: String) -> String {
        let one = floats("one", [1], dims: [])
        return node("Concat", [node("Sub", [one, p]), p], ["axis": .int(1)])
    }

    /// A linear SVM's single score: class 1 when it is > 0.
    mutating func binaryScores(_ s: String) {
        output(s, name: "scores", columns: 1)
        let zero = floats("zero", [0], dims: [])
        let positive = node("Cast", [node("Greater", [s, zero])], ["to": .int(7)])
        let flat = node("Reshape", [positive, ints("flat", [-1], dims: [1])])
        output(flat, name: "label", columns: nil, type: 7)
    }

    /// A tree ensemble: each tree's leaf values times `scale`, summed.
    mutating func trees(
        _ trees: [TreeParameters],
        _ x: String,
        task: ModelSnapshot.Task,
        classNames: [String],
        scale: Float
    ) {
        var a = ensembleAttributes(trees)
        var leafTrees: [Int64] = []
        var leafNodes: [Int64] = []
        var leafIDs: [Int64] = []
        var weights: [Float] = []
        for (t, tree) in trees.enumerated() {
            for n in tree.feature.indices where tree.feature[n] < 0 {
                for k in 0..<tree.outputs {
                    leafTrees.append(Int64(t))
                    leafNodes.append(Int64(n))
                    leafIDs.append(Int64(k))
                    weights.append(tree.value[n * tree.outputs + k] * scale)
                }
            }
        }
        if task == .classification {
            a["class_treeids"] = .ints(leafTrees)
            a["class_nodeids"] = .ints(leafNodes)
            a["class_ids"] = .ints(leafIDs)
            a["class_weights"] = .floats(weights)
            a["classlabels_strings"] = .strings(classNames)  // its own label output is unused: `label` is the ArgMax
            counter += 1
            let id = counter
            node(
                "TreeEnsembleClassifier",
                [x],
                a,
                domain: "ai.onnx.ml",
                outputs: ["tree_label_\(id)", "tree_probabilities_\(id)"]
            )
            classification(probabilities: "tree_probabilities_\(id)", classes: classNames.count, name: "probabilities")
        } else {
            a["target_treeids"] = .ints(leafTrees)
            a["target_nodeids"] = .ints(leafNodes)
            a["target_ids"] = .ints(leafIDs)
            a["target_weights"] = .floats(weights)
            a["n_targets"] = .int(1)
            a["aggregate_function"] = .string("SUM")
            output(node("TreeEnsembleRegressor", [x], a, domain: "ai.onnx.ml"), name: "variable", columns: 1)
        }
    }

    /// Gradient-boosted trees: raw scores summed from the baseline, then the loss's link.
    mutating func boosted(_ p: GradientBoostingParameters, _ x: String, classes: Int) {
        var a = ensembleAttributes(p.trees)
        var leafTrees: [Int64] = []
        var leafNodes: [Int64] = []
        var leafIDs: [Int64] = []
        var weights: [Float] = []
        for (t, tree) in p.trees.enumerated() {
            for n in tree.feature.indices where tree.feature[n] < 0 {
                leafTrees.append(Int64(t))
                leafNodes.append(Int64(n))
                leafIDs.append(Int64(t % p.outputs))
                weights.append(tree.value[n])
            }
        }
        a["target_treeids"] = .ints(leafTrees)
        a["target_nodeids"] = .ints(leafNodes)
        a["target_ids"] = .ints(leafIDs)
        a["target_weights"] = .floats(weights)
        a["n_targets"] = .int(Int64(p.outputs))
        a["aggregate_function"] = .string("SUM")
        a["base_values"] = .floats(p.baseline)
        let raw = node("TreeEnsembleRegressor", [x], a, domain: "ai.onnx.ml")
        switch p.loss {
        case .squaredError: output(raw, name: "variable", columns: 1)
        case .logLoss:
            classification(
                probabilities: binaryProbabilities(node("Sigmoid", [raw])),
                classes: classes,
                name: "probabilities"
            )
        case .multinomial:
            classification(
                probabilities: node("Softmax", [raw], ["axis": .int(1)]),
                classes: classes,
                name: "probabilities"
            )
        }
    }

    /// The nodes_* attributes of trees, node ids as Modelwire numbers them.
    private func ensembleAttributes(_ trees: [TreeParameters]) -> [String: Attribute] {
        var treeIDs: [Int64] = []
        var nodeIDs: [Int64] = []
        var featureIDs: [Int64] = []
        var modes: [String] = []
        var values: [Float] = []
        var trueIDs: [Int64] = []
        var falseIDs: [Int64] = []
        for (t, tree) in trees.enumerated() {
            for n in tree.feature.indices {
                let leaf = tree.feature[n] < 0
                treeIDs.append(Int64(t))
                nodeIDs.append(Int64(n))
                featureIDs.append(leaf ? 0 : Int64(tree.feature[n]))
                modes.append(leaf ? "LEAF" : "BRANCH_LEQ")
                values.append(leaf ? 0 : tree.threshold[n])
                trueIDs.append(leaf ? 0 : Int64(tree.left[n]))
                falseIDs.append(leaf ? 0 : Int64(tree.right[n]))
            }
        }
        return [
            "nodes_treeids": .ints(treeIDs), "nodes_nodeids": .ints(nodeIDs), "nodes_featureids": .ints(featureIDs),
            "nodes_modes": .strings(modes), "nodes_values": .floats(values), "nodes_truenodeids": .ints(trueIDs),
            "nodes_falsenodeids": .ints(falseIDs), "post_transform": .string("NONE"),
        ]
    }

    /// Writes the graph's fields into a `GraphProto` writer.
    func write(into g: inout ProtobufWriter, name: String) {
        for n in nodes { g.data(1, n.bytes) }
        g.string(2, name)
        for t in initializers { g.data(5, t.bytes) }
        g.message(11) { valueInfo(&$0, inputName, type: 1, shape: [nil, features]) }
        for o in outputs { g.message(12) { valueInfo(&$0, o.name, type: o.type, shape: o.shape) } }
    }

    private func valueInfo(_ v: inout ProtobufWriter, _ name: String, type: Int64, shape: [Int?]) {
        v.string(1, name)
        v.message(2) { t in
            t.message(1) { tensor in
                tensor.int(1, type)
                tensor.message(2) { s in
                    for d in shape {
                        s.message(1) { dim in
                            if let d { dim.int(1, Int64(d)) } else { dim.string(2, "N") }
                        }
                    }
                }
            }
        }
    }
}
