import Foundation
import ModelwireCodec
import ModelwireProtocol

/// The grid parameters Tune understands per family, and how each value (text) is written into a
/// trial's TrainRequest spec and options. Names are lower case; `_` and `-` are the same.
enum TuneParameters {
    /// Writes one grid value into a trial's spec and options.
    typealias Setter = (_ value: String, _ spec: inout V1.ModelSpec, _ options: inout V1.TrainingOptions)
        throws(ModelwireError) -> Void

    /// The family's name as the CLI spells it.
    static func familyName(_ family: V1.ModelSpec.Family?) -> String {
        switch family {
        case .dense?, nil: "mlp"
        case .logistic?: "logistic"
        case .linearSvm?: "svm"
        case .tree?: "tree"
        case .forest?: "forest"
        case .gbdt?: "gbdt"
        }
    }

    /// The parameter names of a family, sorted.
    static func names(_ family: V1.ModelSpec.Family?) -> [String] { setters(family).keys.sorted() }

    /// A grid name in its one spelling.
    static func canonical(_ name: String) -> String {
        name.lowercased().replacingOccurrences(of: "_", with: "-")
    }

    /// Writes `value` of parameter `name` into `spec` and `options`.
    /// - Throws: invalid_argument naming the parameter: unknown for the family, or a value of the wrong type or range.
    static func apply(
        _ name: String,
        _ value: String,
        spec: inout V1.ModelSpec,
        options: inout V1.TrainingOptions
    ) throws(ModelwireError) {
        guard let setter = setters(spec.family)[canonical(name)] else {
            throw ModelwireError(
                .invalidArgument,
                "grid parameter \"\(name)\" is not a parameter of family \(familyName(spec.family)); "
                    + "its parameters: \(names(spec.family).joined(separator: ", "))"
            )
        }
        do { try setter(value.trimmingCharacters(in: .whitespaces), &spec, &options) } catch {
            throw ModelwireError(.invalidArgument, "grid parameter \"\(name)\": \(error.message)")
        }
    }

    private static func setters(_ family: V1.ModelSpec.Family?) -> [String: Setter] {
        let rate: Setter = { v, _, o throws(ModelwireError) in
            var optimizer = o.optimizer ?? V1.Optimizer()
            optimizer.learningRate = try float(v, above: 0)
            o.optimizer = optimizer
        }
        let l2: Setter = { v, _, o throws(ModelwireError) in o.l2 = try float(v, atLeast: 0) }
        let epochs: Setter = { v, _, o throws(ModelwireError) in o.epochs = try count(v) }
        let batch: Setter = { v, _, o throws(ModelwireError) in o.batchSize = try count(v) }
        switch family {
        case .dense?, nil:
            return [
                "hidden": { v, s, _ throws(ModelwireError) in
                    var dense = V1.DenseNetSpec(hidden: [V1.DenseLayerSpec(units: 64), V1.DenseLayerSpec(units: 64)])
                    if case .dense(let d)? = s.family { dense = d }
                    let activation = dense.hidden.first?.activation ?? .unspecified
                    dense.hidden =
                        v.lowercased() == "none"
                        ? []
                        : try v.split(separator: ",", omittingEmptySubsequences: false).map {
                            (u) throws(ModelwireError) -> V1.DenseLayerSpec in
                            V1.DenseLayerSpec(units: try count(String(u)), activation: activation)
                        }
                    s.family = .dense(dense)
                },
                "learning-rate": rate, "l2": l2, "epochs": epochs, "batch-size": batch,
            ]
        case .logistic?, .linearSvm?:
            func linear(
                _ edit:
                    @escaping (inout V1.LogisticRegressionSpec?, inout V1.LinearSvmSpec?, String) throws(ModelwireError)
                    -> Void
            ) -> Setter {
                { v, s, _ throws(ModelwireError) in
                    var logistic: V1.LogisticRegressionSpec?
                    var svm: V1.LinearSvmSpec?
                    if case .logistic(let l)? = s.family { logistic = l }
                    if case .linearSvm(let l)? = s.family { svm = l }
                    try edit(&logistic, &svm, v)
                    if let logistic { s.family = .logistic(logistic) } else if let svm { s.family = .linearSvm(svm) }
                }
            }
            return [
                "c": linear { l, s, v throws(ModelwireError) in
                    let c = try float(v, above: 0)
                    l?.c = c
                    s?.c = c
                },
                "tol": linear { l, s, v throws(ModelwireError) in
                    let t = try float(v, above: 0)
                    l?.tol = t
                    s?.tol = t
                },
                "max-iter": linear { l, s, v throws(ModelwireError) in
                    let m = try count(v)
                    l?.maxIter = m
                    s?.maxIter = m
                },
                "l2": l2, "epochs": epochs, "batch-size": batch, "learning-rate": rate,
            ]
        case .tree?:
            func tree(_ edit: @escaping (inout V1.DecisionTreeSpec, String) throws(ModelwireError) -> Void) -> Setter {
                { v, s, _ throws(ModelwireError) in
                    var t = V1.DecisionTreeSpec()
                    if case .tree(let x)? = s.family { t = x }
                    try edit(&t, v)
                    s.family = .tree(t)
                }
            }
            return treeSetters(tree)
        case .forest?:
            func forest(_ edit: @escaping (inout V1.ForestSpec, String) throws(ModelwireError) -> Void) -> Setter {
                { v, s, _ throws(ModelwireError) in
                    var f = V1.ForestSpec()
                    if case .forest(let x)? = s.family { f = x }
                    try edit(&f, v)
                    s.family = .forest(f)
                }
            }
            func tree(_ edit: @escaping (inout V1.DecisionTreeSpec, String) throws(ModelwireError) -> Void) -> Setter {
                forest { f, v throws(ModelwireError) in
                    var t = f.tree ?? V1.DecisionTreeSpec()
                    try edit(&t, v)
                    f.tree = t
                }
            }
            var setters = treeSetters(tree)
            setters["trees"] = forest { f, v throws(ModelwireError) in f.trees = try count(v) }
            setters["max-features"] = forest { f, v throws(ModelwireError) in
                let share = try float(v, above: 0)
                guard share <= 1 else { throw ModelwireError(.invalidArgument, "must be in (0, 1], got \(v)") }
                f.maxFeatures = share
            }
            return setters
        case .gbdt?:
            func gbdt(
                _ edit: @escaping (inout V1.GradientBoostingSpec, String) throws(ModelwireError) -> Void
            ) -> Setter {
                { v, s, _ throws(ModelwireError) in
                    var g = V1.GradientBoostingSpec()
                    if case .gbdt(let x)? = s.family { g = x }
                    try edit(&g, v)
                    s.family = .gbdt(g)
                }
            }
            return [
                "iterations": gbdt { g, v throws(ModelwireError) in g.iterations = try count(v) },
                "learning-rate": gbdt { g, v throws(ModelwireError) in g.learningRate = try float(v, above: 0) },
                "max-depth": gbdt { g, v throws(ModelwireError) in g.maxDepth = try depth(v) },
                "max-leaf-nodes": gbdt { g, v throws(ModelwireError) in g.maxLeafNodes = try count(v, atLeast: 2) },
                "min-samples-leaf": gbdt { g, v throws(ModelwireError) in g.minSamplesLeaf = try count(v) },
                "l2": gbdt { g, v throws(ModelwireError) in g.l2 = try float(v, atLeast: 0) },
            ]
        }
    }

    private static func treeSetters(
        _ tree: (@escaping (inout V1.DecisionTreeSpec, String) throws(ModelwireError) -> Void) -> Setter
    ) -> [String: Setter] {
        [
            "max-depth": tree { t, v throws(ModelwireError) in t.maxDepth = try depth(v) },
            "min-samples-split": tree { t, v throws(ModelwireError) in t.minSamplesSplit = try count(v, atLeast: 2) },
            "min-samples-leaf": tree { t, v throws(ModelwireError) in t.minSamplesLeaf = try count(v) },
            "criterion": tree { t, v throws(ModelwireError) in
                switch v.lowercased() {
                case "gini": t.criterion = .gini
                case "entropy": t.criterion = .entropy
                case "mse", "squared-error", "squared_error": t.criterion = .mse
                default: throw ModelwireError(.invalidArgument, "expects gini, entropy or mse, got \"\(v)\"")
                }
            },
        ]
    }

    private static func count(_ text: String, atLeast minimum: UInt32 = 1) throws(ModelwireError) -> UInt32 {
        guard let n = UInt32(text.trimmingCharacters(in: .whitespaces)), n >= minimum else {
            throw ModelwireError(.invalidArgument, "expects a whole number ≥ \(minimum), got \"\(text)\"")
        }
        return n
    }

    /// A depth: a whole number ≥ 1, or "none" for unlimited (0 on the wire).
    private static func depth(_ text: String) throws(ModelwireError) -> UInt32 {
        text.lowercased() == "none" ? 0 : try count(text)
    }

    private static func float(_ text: String, above minimum: Float) throws(ModelwireError) -> Float {
        guard let x = Float(text), x.isFinite, x > minimum else {
            throw ModelwireError(.invalidArgument, "expects a number > \(minimum), got \"\(text)\"")
        }
        return x
    }

    private static func float(_ text: String, atLeast minimum: Float) throws(ModelwireError) -> Float {
        guard let x = Float(text), x.isFinite, x >= minimum else {
            throw ModelwireError(.invalidArgument, "expects a number ≥ \(minimum), got \"\(text)\"")
        }
        return x
    }
}
