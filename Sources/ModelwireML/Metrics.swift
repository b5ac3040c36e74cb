import Foundation

/// Classification metrics computed exactly as scikit-learn's (with `zero_division=0` and
/// `labels=range(classCount)`): accuracy, per-class and averaged precision, recall and F1,
/// support, the confusion matrix and, when probabilities are given, log-loss; with scores,
/// ROC-AUC and average precision.
public struct ClassificationMetrics: Sendable, Equatable {
    /// Precision, recall, F1 and support of one class.
    public struct ClassScores: Sendable, Equatable {
        /// tp / (tp + fp), 0 when nothing was predicted as the class.
        public var precision: Double
        /// tp / (tp + fn), 0 when the class never occurs.
        public var recall: Double
        /// 2tp / (2tp + fp + fn), 0 when that is 0/0.
        public var f1: Double
        /// Rows whose true class this is.
        public var support: Int
    }

    /// An average of precision, recall and F1 over classes.
    public struct Average: Sendable, Equatable {
        /// Averaged precision.
        public var precision: Double
        /// Averaged recall.
        public var recall: Double
        /// Averaged F1.
        public var f1: Double
    }

    /// The share of rows predicted correctly.
    public var accuracy: Double
    /// Scores per class id.
    public var perClass: [ClassScores]
    /// The unweighted mean over classes.
    public var macro: Average
    /// From the summed counts over classes.
    public var micro: Average
    /// The mean over classes weighted by support.
    public var weighted: Average
    /// `confusionMatrix[true][predicted]` counts.
    public var confusionMatrix: [[Int]]
    /// Mean −log p(true class) (natural log, probabilities clipped to [ε, 1−ε] with float32's ε);
    /// `nil` when the model gives no probabilities (a linear SVM), never invented.
    public var logLoss: Double?
    /// ROC-AUC and average precision from the model's scores; nil without scores or where they are
    /// undefined (a class with no rows, or only that class, in the evaluated rows).
    public var ranking: RankingMetrics?

    /// Computes the metrics.
    /// - Parameters:
    ///   - trueClasses: The true class id per row.
    ///   - predictedClasses: The predicted class id per row.
    ///   - classCount: The number of classes (ids are `0 ..< classCount`).
    ///   - probabilities: rows × classCount class probabilities, or `nil`.
    ///   - rankingScores: rows × classCount scores to rank by (probabilities or decision values), or `nil`.
    public init(
        trueClasses: [Int],
        predictedClasses: [Int],
        classCount: Int,
        probabilities: Matrix? = nil,
        rankingScores: Matrix? = nil
    ) {
        precondition(trueClasses.count == predictedClasses.count, "one prediction per row")
        var confusion = Array(repeating: Array(repeating: 0, count: classCount), count: classCount)
        for (t, p) in zip(trueClasses, predictedClasses) { confusion[t][p] += 1 }
        self.confusionMatrix = confusion
        let n = trueClasses.count
        let correct = (0..<classCount).reduce(0) { $0 + confusion[$1][$1] }
        self.accuracy = n > 0 ? Double(correct) / Double(n) : 0
        var scores = [ClassScores]()
        var (tpSum, fpSum, fnSum) = (0, 0, 0)
        for c in 0..<classCount {
            let tp = confusion[c][c]
            let predicted = (0..<classCount).reduce(0) { $0 + confusion[$1][c] }
            let support = confusion[c].reduce(0, +)
            let (fp, fn) = (predicted - tp, support - tp)
            tpSum += tp
            fpSum += fp
            fnSum += fn
            scores.append(
                ClassScores(
                    precision: ratio(tp, tp + fp),
                    recall: ratio(tp, tp + fn),
                    f1: ratio(2 * tp, 2 * tp + fp + fn),
                    support: support
                )
            )
        }
        self.perClass = scores
        let k = Double(max(classCount, 1))
        self.macro = Average(
            precision: scores.reduce(0) { $0 + $1.precision } / k,
            recall: scores.reduce(0) { $0 + $1.recall } / k,
            f1: scores.reduce(0) { $0 + $1.f1 } / k
        )
        self.micro = Average(
            precision: ratio(tpSum, tpSum + fpSum),
            recall: ratio(tpSum, tpSum + fnSum),
            f1: ratio(2 * tpSum, 2 * tpSum + fpSum + fnSum)
        )
        let total = Double(scores.reduce(0) { $0 + $1.support })
        func weightedMean(_ value: (ClassScores) -> Double) -> Double {
            total > 0 ? scores.reduce(0) { $0 + value($1) * Double($1.support) } / total : 0
        }
        self.weighted = Average(
            precision: weightedMean(\.precision),
            recall: weightedMean(\.recall),
            f1: weightedMean(\.f1)
        )
        if let probabilities {
            precondition(
                probabilities.rows == n && probabilities.columns == classCount,
                "probabilities are rows x classes"
            )
            let eps = Double(Float.ulpOfOne)
            var sum = 0.0
            for (r, t) in trueClasses.enumerated() {
                sum -= log(min(max(Double(probabilities[r, t]), eps), 1 - eps))
            }
            self.logLoss = n > 0 ? sum / Double(n) : 0
        } else {
            self.logLoss = nil
        }
        self.ranking = rankingScores.flatMap { RankingMetrics(trueClasses: trueClasses, scores: $0) }
    }
}

/// Regression metrics as scikit-learn computes them.
public struct RegressionMetrics: Sendable, Equatable {
    /// Mean squared error.
    public var meanSquaredError: Double
    /// Mean absolute error.
    public var meanAbsoluteError: Double
    /// 1 − SS_res / SS_tot; when SS_tot is 0: 1 if the predictions are exact, else 0 (sklearn's `force_finite`).
    public var r2: Double

    /// Computes the metrics in Double.
    /// - Parameters:
    ///   - trueValues: The targets.
    ///   - predictedValues: The predictions, one per target.
    public init(trueValues: [Float], predictedValues: [Float]) {
        precondition(trueValues.count == predictedValues.count, "one prediction per row")
        let n = Double(max(trueValues.count, 1))
        let mean = trueValues.reduce(0.0) { $0 + Double($1) } / n
        var (squares, absolute, total) = (0.0, 0.0, 0.0)
        for (t, p) in zip(trueValues, predictedValues) {
            let d = Double(t) - Double(p)
            squares += d * d
            absolute += abs(d)
            total += (Double(t) - mean) * (Double(t) - mean)
        }
        self.meanSquaredError = squares / n
        self.meanAbsoluteError = absolute / n
        self.r2 = total > 0 ? 1 - squares / total : (squares == 0 ? 1 : 0)
    }
}

private func ratio(_ numerator: Int, _ denominator: Int) -> Double {
    denominator > 0 ? Double(numerator) / Double(denominator) : 0
}
