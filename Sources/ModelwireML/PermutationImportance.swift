import ModelwireData

/// How much a model's score drops when one feature's values are shuffled across rows, as
/// scikit-learn's `permutation_importance` with the estimator's default scorer (accuracy for a
/// classifier, R² for a regressor): per feature, the mean and the population standard deviation
/// over `repeats` shuffles of `baseline − score`.
public struct PermutationImportance: Sendable, Equatable {
    /// The feature's name.
    public var feature: String
    /// Mean drop of the score.
    public var mean: Double
    /// Standard deviation of the drop over the repeats (ddof 0, as numpy's `std`).
    public var standardDeviation: Double
}

extension TrainedModel {
    /// Permutation importance of every feature on `dataset` (in the model's feature order), or of
    /// every group of features shuffled together (a raw column's one-hot features).
    /// - Parameters:
    ///   - groups: Named ranges of features, each shuffled with one row order; `nil`: each feature alone.
    ///   - repeats: Shuffles per feature (scikit-learn's `n_repeats`, default 5 there).
    ///   - seed: The shuffles' seed: equal seeds give equal results.
    ///   - isCancelled: Checked between features; a true stops with `nil`.
    /// - Throws: `DatasetError` as `evaluate` does (checked once, before any shuffle).
    public func permutationImportance(
        _ dataset: Dataset,
        groups: [(name: String, features: Range<Int>)]? = nil,
        repeats: Int,
        seed: UInt64,
        isCancelled: () -> Bool = { false }
    ) throws(DatasetError) -> [PermutationImportance]? {
        precondition(repeats > 0, "at least one repeat")
        let score = try self.defaultScorer(dataset)
        var features = dataset.features
        let baseline = score(features)
        var generator = SeededGenerator(seed: seed)
        var result: [PermutationImportance] = []
        let (rows, columns) = (dataset.rows, dataset.columns)
        let groups = groups ?? self.snapshot.featureNames.enumerated().map { ($0.element, $0.offset..<$0.offset + 1) }
        for (name, group) in groups {
            if isCancelled() { return nil }
            var drops: [Double] = []
            for _ in 0..<repeats {
                let order = Array(0..<rows).shuffled(using: &generator)
                for (row, source) in order.enumerated() {
                    for feature in group {
                        features[row * columns + feature] = dataset.features[source * columns + feature]
                    }
                }
                drops.append(baseline - score(features))
            }
            for row in 0..<rows {
                for feature in group { features[row * columns + feature] = dataset.features[row * columns + feature] }
            }
            let mean = drops.reduce(0, +) / Double(repeats)
            let variance = drops.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(repeats)
            result.append(
                PermutationImportance(
                    feature: name,
                    mean: mean,
                    standardDeviation: variance.squareRoot()
                )
            )
        }
        return result
    }

    /// The score scikit-learn's `estimator.score` gives on `dataset`'s labels for any feature rows
    /// of its shape: accuracy, or R². The labels are matched to the model's classes once, here.
    private func defaultScorer(_ dataset: Dataset) throws(DatasetError) -> ([Float]) -> Double {
        _ = try self.evaluate(dataset)  // the same checks (feature count, task, labels) as evaluate
        switch self.snapshot.task {
        case .classification:
            let truth = try dataset.reindexed(toClassNames: self.snapshot.classNames).classIDs
            return { features in
                let predicted = self.predictClasses(features)
                return Double(zip(truth, predicted).filter { $0 == $1 }.count) / Double(max(truth.count, 1))
            }
        case .regression:
            let truth = dataset.targetValues
            return { features in
                RegressionMetrics(trueValues: truth, predictedValues: self.predictValues(features)).r2
            }
        }
    }
}
