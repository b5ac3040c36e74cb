/// Threshold-free classification metrics from per-class scores, as scikit-learn computes them:
/// ROC-AUC (`roc_auc_score`, one-vs-rest for more than two classes) and average precision
/// (`average_precision_score`). Scores may be probabilities or decision values: both metrics
/// depend only on their order.
public struct RankingMetrics: Sendable, Equatable {
    /// Binary: the AUC of class 1's score. More classes: the mean one-vs-rest AUC.
    public var rocAucMacro: Double
    /// Binary: as `rocAucMacro`. More classes: one-vs-rest AUCs weighted by class support.
    public var rocAucWeighted: Double
    /// Binary: the AP of class 1's score. More classes: the mean one-vs-rest AP (scikit-learn's
    /// default `average="macro"` over `label_binarize`d labels).
    public var averagePrecision: Double

    /// Computes the metrics, or returns nil when they are undefined: fewer than two classes, or
    /// a class (binary: either class) with no rows among `trueClasses` or with every row.
    /// - Parameters:
    ///   - trueClasses: The true class id per row, in `0 ..< scores.columns` (binary: 0 or 1).
    ///   - scores: rows × classes, higher = more likely that class.
    public init?(trueClasses: [Int], scores: Matrix) {
        let classes = scores.columns
        let n = trueClasses.count
        precondition(scores.rows == n, "one score row per label")
        guard classes >= 2, n > 0 else { return nil }
        let support = (0..<classes).map { c in trueClasses.reduce(0) { $0 + ($1 == c ? 1 : 0) } }
        let measured = classes == 2 ? [1] : Array(0..<classes)
        guard measured.allSatisfy({ support[$0] > 0 && support[$0] < n }) else { return nil }
        var aucs: [Double] = []
        var precisions: [Double] = []
        for c in measured {
            let column = (0..<n).map { Double(scores[$0, c]) }
            let positive = trueClasses.map { $0 == c }
            aucs.append(Self.rocAuc(column, positive))
            precisions.append(Self.averagePrecision(column, positive))
        }
        let weights = measured.map { Double(support[$0]) }
        self.rocAucMacro = aucs.reduce(0, +) / Double(aucs.count)
        self.rocAucWeighted = zip(aucs, weights).reduce(0) { $0 + $1.0 * $1.1 } / weights.reduce(0, +)
        self.averagePrecision = precisions.reduce(0, +) / Double(precisions.count)
    }

    /// The rows in descending score order, grouped by equal scores: (positives, negatives) per group.
    private static func groups(_ scores: [Double], _ positive: [Bool]) -> [(Int, Int)] {
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var result: [(Int, Int)] = []
        var previous: Double?
        for i in order {
            if scores[i] != previous {
                result.append((0, 0))
                previous = scores[i]
            }
            if positive[i] { result[result.count - 1].0 += 1 } else { result[result.count - 1].1 += 1 }
        }
        return result
    }

    /// The area under the ROC curve by the trapezoidal rule over distinct thresholds (ties count half).
    static func rocAuc(_ scores: [Double], _ positive: [Bool]) -> Double {
        let p = Double(positive.filter { $0 }.count)
        let q = Double(positive.count) - p
        var area = 0.0
        var negativesAbove = 0.0
        for (tp, fp) in groups(scores, positive) {
            area += Double(tp) * (negativesAbove + Double(fp) / 2)
            negativesAbove += Double(fp)
        }
        return 1 - area / (p * q)
    }

    /// Σ (Rₖ − Rₖ₋₁) Pₖ over distinct thresholds, highest first (scikit-learn's step-wise AP).
    static func averagePrecision(_ scores: [Double], _ positive: [Bool]) -> Double {
        let p = Double(positive.filter { $0 }.count)
        var (tp, fp, recall, sum) = (0.0, 0.0, 0.0, 0.0)
        for (t, f) in groups(scores, positive) {
            tp += Double(t)
            fp += Double(f)
            let newRecall = tp / p
            sum += (newRecall - recall) * (tp / (tp + fp))
            recall = newRecall
        }
        return sum
    }
}
