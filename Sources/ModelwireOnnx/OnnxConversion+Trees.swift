import ModelwireML

/// `TreeEnsembleClassifier` and `TreeEnsembleRegressor` (ai.onnx.ml): one tree becomes a tree,
/// several a forest (classifier, or regressor averaging) or summed regression trees (gbdt).
extension OnnxConversion {
    mutating func treeEnsemble(_ node: OnnxNode, classifier: Bool) throws(OnnxError) {
        guard atHead else {
            throw OnnxError.node(node, "\(node.opType) after other layers is not supported")
        }
        guard try string(node, "post_transform", default: "NONE") == "NONE" else {
            throw OnnxError.node(node, "post_transform other than NONE is not supported")
        }
        let labels = classifier ? self.labels(node, "classlabels") : nil
        if classifier, (labels?.count ?? 0) < 2 {
            throw OnnxError.node(node, "at least two class labels are needed")
        }
        let outputs = labels?.count ?? 1
        if !classifier, try int(node, "n_targets", default: 1) != 1 {
            throw OnnxError.node(node, "only one target is supported")
        }
        let prefix = classifier ? "class" : "target"
        let leafTrees = try ints(node, "\(prefix)_treeids")
        let leafNodes = try ints(node, "\(prefix)_nodeids")
        let leafIDs = try ints(node, "\(prefix)_ids")
        let leafWeights = try floatList(node, "\(prefix)_weights")
        guard [leafNodes.count, leafIDs.count, leafWeights.count].allSatisfy({ $0 == leafTrees.count }) else {
            throw OnnxError.node(node, "the \(prefix)_* attributes have different lengths")
        }
        guard leafIDs.allSatisfy({ $0 >= 0 && $0 < outputs }) else {
            throw OnnxError.node(node, "a \(prefix)_ids value is outside 0..<\(outputs)")
        }
        // scikit-learn's binary classifier stores only P(class 1), under class id 0.
        let binaryPositiveOnly = classifier && outputs == 2 && leafIDs.allSatisfy { $0 == 0 }
        var leaves: [Int64: [Int64: [Float]]] = [:]
        for i in leafTrees.indices {
            var values = leaves[leafTrees[i], default: [:]][leafNodes[i]] ?? [Float](repeating: 0, count: outputs)
            if binaryPositiveOnly {
                values[1] += leafWeights[i]
            } else {
                values[Int(leafIDs[i])] += leafWeights[i]
            }
            leaves[leafTrees[i], default: [:]][leafNodes[i]] = values
        }
        var trees = try self.trees(node, leaves: leaves, outputs: outputs, classifier: classifier)
        let baseValues = try floatList(node, "base_values", required: false)
        let aggregate = try string(node, "aggregate_function", default: "SUM")
        if classifier {
            guard baseValues.allSatisfy({ $0 == 0 }) else {
                throw OnnxError.node(node, "base_values on a classifier are not supported")
            }
            try setLabels(node, labels ?? [])
            task = .classification
            probabilities = true
            if trees.count > 1 {
                // The ensemble sums per-tree fractions (scikit-learn divides by the tree count); a
                // forest averages, so each tree's values are scaled back up.
                let scale = Float(trees.count)
                for t in trees.indices { trees[t].value = trees[t].value.map { $0 * scale } }
            }
            if binaryPositiveOnly {
                for t in trees.indices {
                    for n in trees[t].feature.indices where trees[t].feature[n] < 0 {
                        trees[t].value[2 * n] = 1 - trees[t].value[2 * n + 1]
                    }
                }
            }
            head = trees.count == 1 ? .tree(trees[0]) : .forest(ForestParameters(trees: trees))
            if let label = node.outputs.first { labelTensors.insert(label) }
            try advance(node, to: 1)
        } else {
            guard baseValues.count <= 1 else { throw OnnxError.node(node, "base_values must be one value") }
            let base = baseValues.first ?? 0
            task = .regression
            switch aggregate {
            case "SUM" where trees.count == 1 && base == 0: head = .tree(trees[0])
            case "SUM":
                head = .gbdt(
                    GradientBoostingParameters(loss: .squaredError, outputs: 1, baseline: [base], trees: trees)
                )
            case "AVERAGE" where base == 0:
                head = trees.count == 1 ? .tree(trees[0]) : .forest(ForestParameters(trees: trees))
            default:
                throw OnnxError.node(
                    node,
                    "aggregate_function \(aggregate) with base_values \(baseValues) is not supported"
                )
            }
            try advance(node)
        }
        width = outputs
    }

    /// Rebuilds each tree in breadth-first order from its root (node 0 first, as Modelwire keeps them).
    private mutating func trees(
        _ node: OnnxNode,
        leaves: [Int64: [Int64: [Float]]],
        outputs: Int,
        classifier: Bool
    ) throws(OnnxError) -> [TreeParameters] {
        let treeIDs = try ints(node, "nodes_treeids")
        let nodeIDs = try ints(node, "nodes_nodeids")
        let featureIDs = try ints(node, "nodes_featureids")
        let modes = try strings(node, "nodes_modes")
        let trueIDs = try ints(node, "nodes_truenodeids")
        let falseIDs = try ints(node, "nodes_falsenodeids")
        let thresholds = try floatList(node, "nodes_values")
        let n = treeIDs.count
        guard n > 0,
            [nodeIDs.count, featureIDs.count, modes.count, trueIDs.count, falseIDs.count, thresholds.count]
                .allSatisfy({ $0 == n })
        else { throw OnnxError.node(node, "the nodes_* attributes are empty or have different lengths") }
        if case .ints(let missing)? = node["nodes_missing_value_tracks_true"], missing.contains(where: { $0 != 0 }) {
            throw OnnxError.node(node, "nodes_missing_value_tracks_true is not supported")
        }
        var byTree: [Int64: [Int64: Int]] = [:]
        for i in 0..<n {
            guard byTree[treeIDs[i], default: [:]].updateValue(i, forKey: nodeIDs[i]) == nil else {
                throw OnnxError.node(node, "tree \(treeIDs[i]) has node \(nodeIDs[i]) twice")
            }
        }
        let features = self.features
        var result: [TreeParameters] = []
        for treeID in byTree.keys.sorted() {
            let nodes = byTree[treeID]!
            var children: Set<Int64> = []
            for (_, i) in nodes where modes[i] != "LEAF" { children.formUnion([trueIDs[i], falseIDs[i]]) }
            let roots = nodes.keys.filter { !children.contains($0) }
            guard roots.count == 1, let root = roots.first else {
                throw OnnxError.node(
                    node,
                    "tree \(treeID) has \(roots.count) roots (a cycle or a forest inside one tree)"
                )
            }
            var tree = TreeParameters(
                criterion: classifier ? .gini : .mse,
                outputs: outputs,
                feature: [],
                threshold: [],
                left: [],
                right: [],
                value: []
            )
            var queue = [root]
            var index: [Int64: Int32] = [root: 0]
            var cursor = 0
            while cursor < queue.count {
                let id = queue[cursor]
                cursor += 1
                let i = nodes[id]!
                if modes[i] == "LEAF" {
                    guard let value = leaves[treeID]?[id] else {
                        throw OnnxError.node(node, "tree \(treeID) leaf \(id) has no weights")
                    }
                    tree.feature.append(-1)
                    tree.threshold.append(0)
                    tree.left.append(-1)
                    tree.right.append(-1)
                    tree.value += value
                    continue
                }
                var threshold = thresholds[i]
                var (yes, no) = (trueIDs[i], falseIDs[i])
                switch modes[i] {
                case "BRANCH_LEQ": break
                case "BRANCH_LT": threshold = threshold.nextDown
                case "BRANCH_GT": (yes, no) = (no, yes)
                case "BRANCH_GTE": (yes, no, threshold) = (no, yes, threshold.nextDown)
                default: throw OnnxError.node(node, "node mode \(modes[i]) is not supported")
                }
                let feature = featureIDs[i]
                guard feature >= 0, feature < Int64(features ?? Int(Int32.max)) else {
                    throw OnnxError.node(node, "tree \(treeID) node \(id) tests feature \(feature), outside the input")
                }
                var childIndex: [Int32] = []
                for child in [yes, no] {
                    guard nodes[child] != nil else {
                        throw OnnxError.node(
                            node,
                            "tree \(treeID) node \(id) points to node \(child), which is not there"
                        )
                    }
                    guard index[child] == nil else {
                        throw OnnxError.node(node, "tree \(treeID) reaches node \(child) twice (not a tree)")
                    }
                    index[child] = Int32(queue.count)
                    childIndex.append(Int32(queue.count))
                    queue.append(child)
                }
                tree.feature.append(Int32(feature))
                tree.threshold.append(threshold)
                tree.left.append(childIndex[0])
                tree.right.append(childIndex[1])
                tree.value += [Float](repeating: 0, count: outputs)
            }
            guard queue.count == nodes.count else {
                throw OnnxError.node(
                    node,
                    "tree \(treeID) has \(nodes.count - queue.count) nodes its root does not reach"
                )
            }
            result.append(tree)
        }
        if self.features == nil {
            let n = Int(featureIDs.max() ?? 0) + 1
            try expectWidth(node, n, node.opType)
        }
        return result
    }

    private func ints(_ node: OnnxNode, _ name: String) throws(OnnxError) -> [Int64] {
        guard case .ints(let v)? = node[name] else { throw OnnxError.node(node, "attribute \(name) (ints) is missing") }
        return v
    }

    private func strings(_ node: OnnxNode, _ name: String) throws(OnnxError) -> [String] {
        guard case .strings(let v)? = node[name] else {
            throw OnnxError.node(node, "attribute \(name) (strings) is missing")
        }
        return v
    }

    private func floatList(_ node: OnnxNode, _ name: String, required: Bool = true) throws(OnnxError) -> [Float] {
        switch node[name] {
        case .floats(let v)?: return v
        case .tensor(let t)?: if case .floats(let v) = t.values { return v }
        case nil:
            if case .tensor(let t)? = node[name + "_as_tensor"], case .floats(let v) = t.values { return v }
            if !required { return [] }
        default: break
        }
        throw OnnxError.node(node, "attribute \(name) (floats) is missing")
    }
}
