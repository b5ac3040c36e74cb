import ModelwireCodec
import ModelwireProtocol

/// What one training request may ask the server to spend (issue 12 item 4). Checked when the
/// Train call arrives, before a job exists: a request over a cap fails `RESOURCE_EXHAUSTED`
/// naming the cap and its flag; a NaN, infinite or negative hyper-parameter fails
/// `INVALID_ARGUMENT` naming the field. Kept apart from `TrainRequestRules.swift` (which checks
/// that a request is consistent) so that the two evolve separately.
public struct TrainingCaps: Sendable, Hashable {
    /// `TrainingOptions.epochs` (0 = the default 10). Default 100 000 (the schema's own bound;
    /// lower it where one request must not hold a training thread for long).
    public var maxEpochs: Int
    /// Units of one dense layer. Default 4096.
    public var maxLayerWidth: Int
    /// Trainable parameters of the model (weights and biases; tree nodes count as one each).
    /// Default 50 million (200 MB of float32).
    public var maxParameters: Int
    /// An explicit `max_depth` of a tree, forest or boosted model. Default 64.
    public var maxTreeDepth: Int
    /// Trees of a forest, boosting iterations. Default 10 000.
    public var maxTrees: Int
    /// Rows × features of the training data. Default 100 million (400 MB of float32).
    public var maxTrainingCells: Int
    /// The job's estimated peak memory (`estimatedMemoryBytes`). Default 2 GiB.
    public var maxJobMemoryBytes: Int

    public static let defaults = TrainingCaps(
        maxEpochs: 100_000,
        maxLayerWidth: 4096,
        maxParameters: 50_000_000,
        maxTreeDepth: 64,
        maxTrees: 10_000,
        maxTrainingCells: 100_000_000,
        maxJobMemoryBytes: 2 << 30
    )

    public init(
        maxEpochs: Int,
        maxLayerWidth: Int,
        maxParameters: Int,
        maxTreeDepth: Int,
        maxTrees: Int,
        maxTrainingCells: Int,
        maxJobMemoryBytes: Int
    ) {
        self.maxEpochs = maxEpochs
        self.maxLayerWidth = maxLayerWidth
        self.maxParameters = maxParameters
        self.maxTreeDepth = maxTreeDepth
        self.maxTrees = maxTrees
        self.maxTrainingCells = maxTrainingCells
        self.maxJobMemoryBytes = maxJobMemoryBytes
    }
}

/// The shape of a training set: what the caps are computed from.
struct TrainingShape: Hashable, Sendable {
    var rows: Int
    var features: Int
    /// Output width: the number of classes (at least 1; 1 for regression).
    var outputs: Int

    init(rows: Int, features: Int, outputs: Int) {
        self.rows = rows
        self.features = features
        self.outputs = max(1, outputs)
    }

    init(_ dataset: V1.Dataset) {
        let columns = Int(dataset.features?.columns ?? 0)
        let values = dataset.features?.values.count ?? 0
        self.init(rows: columns == 0 ? 0 : values / columns, features: columns, outputs: dataset.classNames.count)
    }

    init(_ info: V1.DatasetInfo) {
        self.init(rows: Int(info.rows), features: Int(info.columns), outputs: info.classNames.count)
    }
}

extension V1.TrainRequest {
    /// Refuses NaN, infinite and negative hyper-parameters, and requests over `caps`.
    /// - Throws: `ModelwireError` invalid_argument (a bad value, naming the field) or
    ///   resource_exhausted (a cap, naming it, its value and its flag).
    func checkResourceCaps(_ caps: TrainingCaps, shape: TrainingShape) throws(ModelwireError) {
        try checkHyperParametersAreFinite()
        let epochs = Int(options?.epochs ?? 0) == 0 ? 10 : Int(options!.epochs)
        try Self.cap("epochs", epochs, caps.maxEpochs, "max-train-epochs")
        try Self.cap("rows × features", shape.rows * shape.features, caps.maxTrainingCells, "max-train-cells")
        var widths: [Int] = []
        var trees = 0
        var depth = 0
        switch spec?.family {
        case .dense(let dense)?: widths = dense.hidden.map { Int($0.units) }
        case nil: widths = [64, 64]  // the reference network
        case .tree(let tree)?: depth = Int(tree.maxDepth)
        case .forest(let forest)?:
            trees = forest.trees == 0 ? 100 : Int(forest.trees)
            depth = Int(forest.tree?.maxDepth ?? 0)
        case .gbdt(let gbdt)?:
            trees = gbdt.iterations == 0 ? 100 : Int(gbdt.iterations)
            depth = Int(gbdt.maxDepth)
        default: break
        }
        for width in widths { try Self.cap("a dense layer's units", width, caps.maxLayerWidth, "max-layer-width") }
        try Self.cap("max_depth", depth, caps.maxTreeDepth, "max-tree-depth")
        try Self.cap("trees (or boosting iterations)", trees, caps.maxTrees, "max-trees")
        try Self.cap("model parameters", parameterCount(shape), caps.maxParameters, "max-model-parameters")
        try Self.cap(
            "the job's estimated memory (bytes)",
            estimatedMemoryBytes(shape),
            caps.maxJobMemoryBytes,
            "max-job-memory-bytes"
        )
    }

    /// Trainable parameters of the model this request asks for, on `shape`: dense weights and
    /// biases, linear coefficients, or an upper bound on tree nodes.
    func parameterCount(_ shape: TrainingShape) -> Int {
        switch spec?.family {
        case .dense(let dense)?: return Self.denseParameters(shape, dense.hidden.map { Int($0.units) })
        case nil: return Self.denseParameters(shape, [64, 64])
        case .logistic?, .linearSvm?: return (shape.features + 1).multipliedReportingOverflow(by: shape.outputs).0
        case .tree(let tree)?: return Self.treeNodes(shape, depth: Int(tree.maxDepth))
        case .forest(let forest)?:
            let trees = forest.trees == 0 ? 100 : Int(forest.trees)
            return Self.saturating(trees, Self.treeNodes(shape, depth: Int(forest.tree?.maxDepth ?? 0)))
        case .gbdt(let gbdt)?:
            let iterations = gbdt.iterations == 0 ? 100 : Int(gbdt.iterations)
            let leaves = gbdt.maxLeafNodes == 0 ? 31 : Int(gbdt.maxLeafNodes)
            let perClass = shape.outputs > 2 ? shape.outputs : 1
            return Self.saturating(Self.saturating(iterations, perClass), 2 * leaves)
        }
    }

    /// An estimate of the job's peak memory: the training data three times (the request, the
    /// dataset, its standardised copy and split), plus for nets four floats per parameter
    /// (weights, gradients, two Adam moments) and a batch of activations and their gradients,
    /// for trees the binned data and 64 bytes per node, for boosting the per-row gradients.
    func estimatedMemoryBytes(_ shape: TrainingShape) -> Int {
        let cells = Self.saturating(shape.rows, shape.features)
        var bytes = Self.saturating(cells, 12)
        let parameters = parameterCount(shape)
        switch spec?.family {
        case .dense?, nil, .logistic?, .linearSvm?:
            bytes = bytes.addingReportingOverflow(Self.saturating(parameters, 16)).0
            let batch = Int(options?.batchSize ?? 0) == 0 ? 32 : Int(options!.batchSize)
            var widths = shape.features + shape.outputs
            switch spec?.family {
            case .dense(let dense)?: widths += dense.hidden.reduce(0) { $0 + Int($1.units) }
            case nil: widths += 128
            default: break
            }
            bytes = bytes.addingReportingOverflow(Self.saturating(Self.saturating(min(batch, shape.rows), widths), 8)).0
        default:
            bytes = bytes.addingReportingOverflow(Self.saturating(cells, 2)).0
            bytes = bytes.addingReportingOverflow(Self.saturating(parameters, 64)).0
            bytes = bytes.addingReportingOverflow(Self.saturating(shape.rows, 12 * shape.outputs)).0
        }
        return bytes < 0 ? .max : bytes
    }

    /// Every float hyper-parameter must be finite and not negative.
    private func checkHyperParametersAreFinite() throws(ModelwireError) {
        var values: [(String, Float)] = []
        if let o = options {
            values += [("l2", o.l2), ("validation_split", o.validationSplit)]
            if let opt = o.optimizer {
                values += [
                    ("learning_rate", opt.learningRate), ("momentum", opt.momentum), ("beta1", opt.beta1),
                    ("beta2", opt.beta2), ("epsilon", opt.epsilon),
                ]
            }
            if let early = o.earlyStopping { values.append(("early_stopping.min_delta", early.minDelta)) }
        }
        switch spec?.family {
        case .logistic(let l)?: values += [("c", l.c), ("tol", l.tol)]
        case .linearSvm(let l)?: values += [("c", l.c), ("tol", l.tol)]
        case .forest(let f)?: values.append(("max_features", f.maxFeatures))
        case .gbdt(let g)?:
            values += [
                ("learning_rate", g.learningRate), ("l2", g.l2), ("validation_fraction", g.validationFraction),
            ]
        default: break
        }
        for (name, value) in values where !value.isFinite || value < 0 {
            throw ModelwireError(.invalidArgument, "\(name) must be a finite number >= 0, got \(value)")
        }
    }

    private static func cap(_ what: String, _ value: Int, _ limit: Int, _ flag: String) throws(ModelwireError) {
        guard value > limit else { return }
        throw ModelwireError(
            .resourceExhausted,
            "\(what): \(value) is over the server's limit of \(limit) (--\(flag))"
        )
    }

    private static func denseParameters(_ shape: TrainingShape, _ hidden: [Int]) -> Int {
        var total = 0
        var inputs = shape.features
        for width in hidden + [shape.outputs] {
            total = total.addingReportingOverflow(saturating(inputs + 1, width)).0
            inputs = width
        }
        return total < 0 ? .max : total
    }

    /// At most 2·rows nodes (every leaf holds a row), and at most 2^(depth+1) with a depth limit.
    private static func treeNodes(_ shape: TrainingShape, depth: Int) -> Int {
        let byRows = max(1, saturating(2, shape.rows))
        guard depth > 0, depth < 62 else { return byRows }
        return min(byRows, 1 << (depth + 1))
    }

    private static func saturating(_ a: Int, _ b: Int) -> Int {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow || product < 0 ? .max : product
    }
}
