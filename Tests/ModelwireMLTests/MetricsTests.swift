import Foundation
import ModelwireTestSupport
import Testing

@testable import ModelwireML

/// Metrics against scikit-learn 1.9.1's values (Fixtures/metric-vectors.json, from
/// ../shared/baselines/ml/metric_vectors.py).
@Suite(.ownThreads) struct MetricsTests {
    func vectorCase(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: fixtures.appendingPathComponent("metric-vectors.json"))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let cases = try #require(root["cases"] as? [String: [String: Any]])
        return try #require(cases[name])
    }

    func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-12 * max(1, abs(b)) }

    @Test(
        "classification metrics equal scikit-learn's",
        arguments: ["binary", "multiclass3", "multiclass10_zero_division"]
    )
    func classification(name: String) throws {
        let c = try vectorCase(name)
        let labels = c["labels"] as! [Int]
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        let yTrue = (c["y_true"] as! [Int]).map { index[$0]! }
        let yPred = (c["y_pred"] as! [Int]).map { index[$0]! }
        let probabilityRows = c["y_prob"] as! [[Double]]
        let probabilities = Matrix(
            rows: probabilityRows.count,
            columns: labels.count,
            values: probabilityRows.flatMap { $0.map { Float($0) } }
        )
        let m = ClassificationMetrics(
            trueClasses: yTrue,
            predictedClasses: yPred,
            classCount: labels.count,
            probabilities: probabilities
        )
        #expect(close(m.accuracy, c["accuracy"] as! Double))
        let perClass = c["per_class"] as! [String: [Double]]
        #expect(zip(m.perClass.map(\.precision), perClass["precision"]!).allSatisfy(close))
        #expect(zip(m.perClass.map(\.recall), perClass["recall"]!).allSatisfy(close))
        #expect(zip(m.perClass.map(\.f1), perClass["f1"]!).allSatisfy(close))
        #expect(m.perClass.map { Double($0.support) } == perClass["support"]!)
        for (key, average) in [("macro", m.macro), ("micro", m.micro), ("weighted", m.weighted)] {
            let expected = c[key] as! [String: Double]
            #expect(close(average.precision, expected["precision"]!), "\(key) precision")
            #expect(close(average.recall, expected["recall"]!), "\(key) recall")
            #expect(close(average.f1, expected["f1"]!), "\(key) f1")
        }
        #expect(m.confusionMatrix == c["confusion_matrix"] as! [[Int]])
        #expect(abs(m.logLoss! - (c["log_loss"] as! Double)) < 1e-9)
        if let binary = c["binary"] as? [String: Double] {
            #expect(close(m.perClass[1].precision, binary["precision"]!))
            #expect(close(m.perClass[1].f1, binary["f1"]!))
        }
    }

    /// Expected values from scikit-learn 1.x (`roc_auc_score`, `average_precision_score`), computed
    /// on the same arrays: binary (with a tie) and three classes one-vs-rest.
    @Test func rankingMetricsMatchScikitLearn() throws {
        func binary(_ labels: [Int], _ scores: [Float]) throws -> RankingMetrics {
            var m = Matrix(rows: scores.count, columns: 2)
            for (r, s) in scores.enumerated() {
                m[r, 0] = 1 - s
                m[r, 1] = s
            }
            return try #require(RankingMetrics(trueClasses: labels, scores: m))
        }
        let plain = try binary([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        #expect(abs(plain.rocAucMacro - 0.75) < 1e-12)
        #expect(abs(plain.averagePrecision - 0.8333333333333333) < 1e-12)
        let tied = try binary([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9])
        #expect(abs(tied.rocAucMacro - 0.875) < 1e-12)
        #expect(abs(tied.averagePrecision - 0.8333333333333333) < 1e-12)
        let p: [[Float]] = [
            [0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6], [0.3, 0.3, 0.4], [0.4, 0.4, 0.2], [0.5, 0.1, 0.4],
        ]
        var three = Matrix(rows: 6, columns: 3)
        for r in 0..<6 { for c in 0..<3 { three[r, c] = p[r][c] } }
        let multi = try #require(RankingMetrics(trueClasses: [0, 1, 2, 2, 1, 0], scores: three))
        #expect(abs(multi.rocAucMacro - 0.9791666666666666) < 1e-6)
        #expect(abs(multi.rocAucWeighted - 0.9791666666666666) < 1e-6)
        #expect(abs(multi.averagePrecision - 0.9444444444444443) < 1e-6)
        // Undefined: a class absent from the rows.
        #expect(RankingMetrics(trueClasses: [0, 0, 1, 1, 0, 1], scores: three) == nil)
    }

    @Test func logLossIsAbsentWithoutProbabilities() {
        let m = ClassificationMetrics(trueClasses: [0, 1, 1], predictedClasses: [0, 1, 0], classCount: 2)
        #expect(m.logLoss == nil)
        #expect(close(m.accuracy, 2.0 / 3))
    }

    @Test func regressionMetricsMatchScikitLearnExample() {
        // sklearn docs: mean_squared_error / mean_absolute_error / r2_score examples.
        let m = RegressionMetrics(trueValues: [3, -0.5, 2, 7], predictedValues: [2.5, 0, 2, 8])
        #expect(close(m.meanSquaredError, 0.375))
        #expect(close(m.meanAbsoluteError, 0.5))
        #expect(abs(m.r2 - 0.9486081370449679) < 1e-12)
        #expect(RegressionMetrics(trueValues: [1, 1], predictedValues: [1, 1]).r2 == 1)
        #expect(RegressionMetrics(trueValues: [1, 1], predictedValues: [1, 2]).r2 == 0)
    }
}
