/// Exact path-dependent TreeSHAP (Lundberg et al., "From local explanations to global
/// understanding with explainable AI for trees", 2020, algorithm 2), with the expectation over
/// each node's training weight (`TreeParameters.weight`): the fraction of rows that took a branch
/// stands in for the feature being unknown. Σφ + E[f] = f(x) exactly, up to rounding.
///
/// Trees go left when `x[feature] <= threshold`, as they predict. A tree, a forest (φ and E[f]
/// the mean over its trees, f a class fraction) and gbdt (their sum plus the initial score, f the
/// raw score before the link) are explained; trees without node weights (imported ones) are refused.
enum TreeSHAP {
    /// How the trees' values combine.
    enum Combination {
        /// The mean of the trees (a tree, a forest).
        case mean
        /// Gradient boosting: the initial score plus the sum of the explained class's trees.
        case boosted(GradientBoostingParameters)
    }

    static func explain(
        trees: [TreeParameters],
        _ rows: [Float],
        columns: Int,
        classes: [Int?],
        output combination: Combination
    ) throws(TrainingError) -> Explanation {
        for (t, tree) in trees.enumerated() where tree.weight.count != tree.feature.count {
            throw TrainingError(
                .invalidArgument,
                "tree \(t) has no training weight per node (an imported model?): TreeSHAP needs them; "
                    + "retrain the model with this server to explain it"
            )
        }
        var explained: [RowAttribution] = []
        explained.reserveCapacity(classes.count)
        for (r, classId) in classes.enumerated() {
            let x = rows[r * columns..<(r + 1) * columns]
            var phi = [Double](repeating: 0, count: columns)
            var expected = 0.0
            var value = 0.0
            switch combination {
            case .mean:
                let output = classId ?? 0
                for tree in trees {
                    let e = Walker(tree: tree, x: x, output: output).shap(into: &phi)
                    expected += e.expected
                    value += e.value
                }
                let n = Double(trees.count)
                phi = phi.map { $0 / n }
                (expected, value) = (expected / n, value / n)
            case .boosted(let p):
                let output = p.outputs == 1 ? 0 : classId ?? 0
                for (t, tree) in trees.enumerated() where t % p.outputs == output {
                    let e = Walker(tree: tree, x: x, output: 0).shap(into: &phi)
                    expected += e.expected
                    value += e.value
                }
                expected += Double(p.baseline[output])
                value += Double(p.baseline[output])
                if p.outputs == 1 && classId == 0 {
                    phi = phi.map { -$0 }
                    (expected, value) = (-expected, -value)
                }
            }
            explained.append(
                RowAttribution(
                    classId: classId,
                    attributions: phi.map { Float($0) },
                    value: Float(value),
                    baselineValue: Float(expected)
                )
            )
        }
        let output: String
        switch combination {
        case .mean: output = trees.first?.criterion == .mse ? "value" : "probability"
        case .boosted(let p): output = p.loss == .squaredError ? "value" : "raw score"
        }
        return Explanation(method: .treeShap, output: output, baseline: [], rows: explained)
    }

    /// One element of the path of unique features from the root (the paper's m).
    private struct PathElement {
        var feature: Int
        /// The fraction of zero paths (feature unknown) that flow through: the weight share.
        var zero: Double
        /// 1 when x goes this way, else 0.
        var one: Double
        /// The permutation weight.
        var weight: Double
    }

    /// One tree's recursion for one row and one output.
    private struct Walker {
        let tree: TreeParameters
        let x: ArraySlice<Float>
        let output: Int

        /// Adds the tree's φ into `phi`; returns E[f] over the node weights and f(x).
        func shap(into phi: inout [Double]) -> (expected: Double, value: Double) {
            self.recurse(0, path: [], depth: 0, zero: 1, one: 1, feature: -1, phi: &phi)
            return (self.expectation(0), self.leafValue(of: 0))
        }

        private func value(_ node: Int) -> Double { Double(self.tree.value[node * self.tree.outputs + self.output]) }

        private func isLeaf(_ node: Int) -> Bool { self.tree.left[node] < 0 }

        private func hotChild(_ node: Int) -> Int {
            let f = Int(self.tree.feature[node])
            return Int(
                self.x[self.x.startIndex + f] <= self.tree.threshold[node]
                    ? self.tree.left[node] : self.tree.right[node]
            )
        }

        private func leafValue(of node: Int) -> Double {
            var n = node
            while !self.isLeaf(n) { n = self.hotChild(n) }
            return self.value(n)
        }

        /// E[f] below `node`, the children weighted by their share of the node's weight.
        private func expectation(_ node: Int) -> Double {
            if self.isLeaf(node) { return self.value(node) }
            let (l, r) = (Int(self.tree.left[node]), Int(self.tree.right[node]))
            let w = Double(self.tree.weight[node])
            return
                (Double(self.tree.weight[l]) * self.expectation(l) + Double(self.tree.weight[r]) * self.expectation(r))
                / w
        }

        private func recurse(
            _ node: Int,
            path parent: [PathElement],
            depth: Int,
            zero: Double,
            one: Double,
            feature: Int,
            phi: inout [Double]
        ) {
            var path = parent
            var depth = depth
            Self.extend(&path, depth: depth, zero: zero, one: one, feature: feature)
            if self.isLeaf(node) {
                let v = self.value(node)
                if depth > 0 {
                    for i in 1...depth {
                        let w = Self.unwoundSum(path, depth: depth, index: i)
                        phi[path[i].feature] += w * (path[i].one - path[i].zero) * v
                    }
                }
                return
            }
            let split = Int(self.tree.feature[node])
            let hot = self.hotChild(node)
            let cold = hot == Int(self.tree.left[node]) ? Int(self.tree.right[node]) : Int(self.tree.left[node])
            let w = Double(self.tree.weight[node])
            let hotZero = w > 0 ? Double(self.tree.weight[hot]) / w : 0
            let coldZero = w > 0 ? Double(self.tree.weight[cold]) / w : 0
            var incomingZero = 1.0
            var incomingOne = 1.0
            if depth > 0, let k = (1...depth).first(where: { path[$0].feature == split }) {
                incomingZero = path[k].zero
                incomingOne = path[k].one
                Self.unwind(&path, depth: depth, index: k)
                depth -= 1
            }
            self.recurse(
                hot,
                path: path,
                depth: depth + 1,
                zero: hotZero * incomingZero,
                one: incomingOne,
                feature: split,
                phi: &phi
            )
            self.recurse(
                cold,
                path: path,
                depth: depth + 1,
                zero: coldZero * incomingZero,
                one: 0,
                feature: split,
                phi: &phi
            )
        }

        private static func extend(_ path: inout [PathElement], depth: Int, zero: Double, one: Double, feature: Int) {
            let element = PathElement(feature: feature, zero: zero, one: one, weight: depth == 0 ? 1 : 0)
            if path.count > depth { path[depth] = element } else { path.append(element) }
            let d = Double(depth)
            for i in stride(from: depth - 1, through: 0, by: -1) {
                path[i + 1].weight += one * path[i].weight * Double(i + 1) / (d + 1)
                path[i].weight = zero * path[i].weight * (d - Double(i)) / (d + 1)
            }
        }

        private static func unwind(_ path: inout [PathElement], depth: Int, index: Int) {
            let one = path[index].one
            let zero = path[index].zero
            let d = Double(depth)
            var next = path[depth].weight
            for i in stride(from: depth - 1, through: 0, by: -1) {
                if one != 0 {
                    let previous = path[i].weight
                    path[i].weight = next * (d + 1) / (Double(i + 1) * one)
                    next = previous - path[i].weight * zero * (d - Double(i)) / (d + 1)
                } else {
                    path[i].weight = path[i].weight * (d + 1) / (zero * (d - Double(i)))
                }
            }
            for i in index..<depth {
                path[i].feature = path[i + 1].feature
                path[i].zero = path[i + 1].zero
                path[i].one = path[i + 1].one
            }
        }

        private static func unwoundSum(_ path: [PathElement], depth: Int, index: Int) -> Double {
            let one = path[index].one
            let zero = path[index].zero
            let d = Double(depth)
            var next = path[depth].weight
            var total = 0.0
            for i in stride(from: depth - 1, through: 0, by: -1) {
                if one != 0 {
                    let t = next * (d + 1) / (Double(i + 1) * one)
                    total += t
                    next = path[i].weight - t * zero * (d - Double(i)) / (d + 1)
                } else {
                    total += path[i].weight / zero / ((d - Double(i)) / (d + 1))
                }
            }
            return total
        }
    }
}
