import Dispatch
import Foundation
import ModelwireData
import Synchronization

/// A random forest of histogram CART trees (see `ForestSpec`). Features are binned once for
/// all trees. Tree i draws its bootstrap sample and split features from a generator seeded by
/// the training seed and i alone, so the forest does not depend on the thread count.
public struct RandomForest: Model {
    /// The grown forest.
    public private(set) var forest: ForestParameters
    private let spec: ForestSpec
    private let criterion: TreeParameters.Criterion
    private let outputs: Int

    /// An unfitted forest.
    /// - Parameters:
    ///   - spec: Trees, features per split, bootstrap, threads and the trees' limits.
    ///   - task: Classification or regression.
    ///   - classes: The class count (ignored for regression).
    /// - Throws: `TrainingError.invalidArgument` naming a bad parameter.
    public init(spec: ForestSpec, task: ModelSnapshot.Task, classes: Int) throws(TrainingError) {
        guard spec.trees >= 1, spec.trees <= 10_000 else {
            throw TrainingError(.invalidArgument, "trees must be in 1...10000, got \(spec.trees)")
        }
        guard spec.threads >= 1, spec.threads <= 64 else {
            throw TrainingError(.invalidArgument, "threads must be in 1...64, got \(spec.threads)")
        }
        switch spec.maxFeatures {
        case .fraction(let share)? where !(share > 0 && share <= 1):
            throw TrainingError(.invalidArgument, "maxFeatures fraction must be in (0, 1], got \(share)")
        case .count(let count)? where count < 1:
            throw TrainingError(.invalidArgument, "maxFeatures count must be ≥ 1, got \(count)")
        default: break
        }
        var treeSpec = spec.tree
        if treeSpec.maxBins == nil { treeSpec.maxBins = 256 }
        let tree = try DecisionTree(spec: treeSpec, task: task, classes: classes)
        self.spec = ForestSpec(
            trees: spec.trees,
            tree: treeSpec,
            maxFeatures: spec.maxFeatures,
            bootstrap: spec.bootstrap,
            threads: spec.threads
        )
        self.criterion = tree.tree.criterion
        self.outputs = tree.tree.outputs
        self.forest = ForestParameters(trees: [])
    }

    /// Rebuilds a forest from snapshot parameters.
    /// - Parameter parameters: The trees.
    public init(parameters: ForestParameters) {
        self.forest = parameters
        self.spec = ForestSpec(trees: parameters.trees.count)
        self.criterion = parameters.trees[0].criterion
        self.outputs = parameters.trees[0].outputs
    }

    /// Features tried per split for `columns` features.
    func featuresPerSplit(columns: Int) -> Int {
        let choice = self.spec.maxFeatures ?? (self.criterion == .mse ? .all : .sqrt)
        let count =
            switch choice {
            case .sqrt: Int(Double(columns).squareRoot())
            case .log2: Int(Foundation.log2(Double(columns)))
            case .all: columns
            case .fraction(let share): Int(share * Double(columns))
            case .count(let count): count
            }
        return min(max(count, 1), columns)
    }

    /// Grows the trees (see `Model.fit`); cancellation is checked between trees, or between
    /// groups of trees when several threads grow them.
    public mutating func fit(
        _ training: Dataset,
        validation: Dataset?,
        options: TrainingOptions,
        callbacks: TrainingCallbacks
    ) throws(TrainingError) -> TrainingSummary {
        let start = ContinuousClock.now
        let bins = FeatureBins(
            features: training.features,
            rows: training.rows,
            columns: training.columns,
            maxBins: self.spec.tree.maxBins ?? 256
        )
        let context = TreeContext(
            bins: bins,
            criterion: self.criterion,
            outputs: self.outputs,
            spec: self.spec.tree,
            maxFeatures: self.featuresPerSplit(columns: training.columns),
            bootstrap: self.spec.bootstrap,
            classIDs: training.classIDs,
            targets: training.targetValues,
            seed: options.seed
        )
        var trees = [TreeParameters]()
        trees.reserveCapacity(self.spec.trees)
        if self.spec.threads == 1 {
            for i in 0..<self.spec.trees {
                if callbacks.isCancelled() { throw TrainingError(.cancelled, "training cancelled after \(i) trees") }
                trees.append(try context.grow(i, isCancelled: callbacks.isCancelled))
            }
        } else {
            let group = 4 * self.spec.threads
            for first in stride(from: 0, to: self.spec.trees, by: group) {
                if callbacks.isCancelled() {
                    throw TrainingError(.cancelled, "training cancelled after \(first) trees")
                }
                let count = min(group, self.spec.trees - first)
                let grown = TreeSlots(count: count)
                let next = Atomic<Int>(0)
                DispatchQueue.concurrentPerform(iterations: min(self.spec.threads, count)) { _ in
                    while true {
                        let slot = next.add(1, ordering: .relaxed).oldValue
                        guard slot < count else { return }
                        // Without a cancellation check inside the tree, growth cannot fail.
                        grown.store(try? context.grow(first + slot, isCancelled: { false }), at: slot)
                    }
                }
                trees += grown.values()
            }
        }
        self.forest = ForestParameters(trees: trees)
        return TreeFitting.finish(
            self,
            training: training,
            validation: validation,
            regression: self.criterion == .mse,
            rounds: trees.count,
            start: start,
            callbacks: callbacks
        )
    }

    /// Raw outputs for rows (see `Model.outputs`): the mean of the trees' leaf values.
    public func outputs(_ rows: Matrix, threads: Int) -> Matrix {
        let k = self.outputs
        var sums = [Double](repeating: 0, count: rows.rows * k)
        for tree in self.forest.trees {
            for r in 0..<rows.rows {
                let leaf = tree.leaf(of: rows.values[r * rows.columns..<(r + 1) * rows.columns])
                for c in 0..<k { sums[r * k + c] += Double(tree.value[leaf * k + c]) }
            }
        }
        let scale = 1 / Double(self.forest.trees.count)
        return Matrix(rows: rows.rows, columns: k, values: sums.map { Float($0 * scale) })
    }

    /// Whether `outputs` are class probabilities.
    public var producesProbabilities: Bool { self.criterion != .mse }

    /// The learned parameters, as stored in a snapshot.
    public var parameters: ModelSnapshot.Parameters { .forest(self.forest) }
}

/// Everything needed to grow tree i of a forest, shared read-only by the threads.
private struct TreeContext: Sendable {
    let bins: FeatureBins
    let criterion: TreeParameters.Criterion
    let outputs: Int
    let spec: TreeSpec
    let maxFeatures: Int
    let bootstrap: Bool
    let classIDs: [Int]
    let targets: [Float]
    let seed: UInt64

    func grow(_ index: Int, isCancelled: @escaping () -> Bool) throws(TrainingError) -> TreeParameters {
        var generator = SeededGenerator(seed: self.seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(index + 1))
        let n = self.bins.rows
        var weights = [Double](repeating: self.bootstrap ? 0 : 1, count: n)
        if self.bootstrap {
            for _ in 0..<n { weights[Int(generator.next() % UInt64(n))] += 1 }
        }
        var grower = HistogramTreeGrower(
            bins: self.bins,
            criterion: self.criterion,
            outputs: self.outputs,
            spec: self.spec,
            maxFeatures: self.maxFeatures,
            classIDs: self.classIDs,
            targets: self.targets,
            generator: generator,
            isCancelled: isCancelled
        )
        return try grower.grow(rowWeights: weights)
    }
}

/// One slot per tree of a group, each written by exactly one thread, read after all are done.
private final class TreeSlots: @unchecked Sendable {
    private let slots: UnsafeMutableBufferPointer<TreeParameters?>

    init(count: Int) {
        self.slots = .allocate(capacity: count)
        self.slots.initialize(repeating: nil)
    }

    deinit {
        self.slots.deinitialize()
        self.slots.deallocate()
    }

    func store(_ tree: TreeParameters?, at slot: Int) { self.slots[slot] = tree }

    func values() -> [TreeParameters] { self.slots.map { $0! } }
}
