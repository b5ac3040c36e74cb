import Foundation
import ModelwireData
import ModelwireTestSupport
import Testing

@testable import ModelwireML

/// Per-prediction attributions (issue 15): integrated gradients, linear contributions, TreeSHAP.
@Suite(.ownThreads) struct ExplanationTests {
    @Test("integrated gradients on a trained digits net are complete within 1% at 64 steps")
    func integratedGradientsCompleteness() throws {
        let (model, train) = try TransformTests.digitsNet(hidden: [64, 64], epochs: 5)
        let rows = Array(train.features.prefix(20 * train.columns))
        let explanation = try model.explain(rows)
        #expect(explanation.method == .integratedGradients)
        #expect(explanation.output == "probability")
        #expect(explanation.baseline == model.snapshot.standardization?.mean)
        let predicted = model.predictClasses(rows)
        let probabilities = try #require(model.predictProbabilities(rows))
        let atMean = try #require(model.predictProbabilities(explanation.baseline))
        for (r, row) in explanation.rows.enumerated() {
            let c = try #require(row.classId)
            #expect(c == predicted[r])
            #expect(abs(row.value - probabilities[r, c]) < 1e-5)
            #expect(abs(row.baselineValue - atMean[0, c]) < 1e-5)
            let gap = abs(row.value - row.baselineValue)
            #expect(row.completenessError <= 0.01 * max(gap, 1e-3), "row \(r): \(row.completenessError) of \(gap)")
            #expect(row.steps == 64, "row \(r) took \(row.steps ?? 0) steps")
            let sum = row.attributions.reduce(0, +)
            #expect(abs(abs(sum - (row.value - row.baselineValue)) - row.completenessError) < 1e-5)
        }
        // A chosen class is explained for every row; a row at the baseline has no attribution.
        let chosen = try model.explain(rows, targetClass: 3)
        #expect(chosen.rows.allSatisfy { $0.classId == 3 })
        let flat = try model.explain(explanation.baseline, targetClass: 3).rows[0]
        #expect(flat.attributions.allSatisfy { abs($0) < 1e-6 })
    }

    @Test("linear contributions are exact: w·(x − mean) per feature, summing to the logit's change")
    func linearIsExact() throws {
        let (train, _) = try bundled("iris")
        let model = try Trainer.train(spec: .logistic(LinearSpec()), dataset: train)
        guard case .linear(let p) = model.snapshot.parameters, let st = model.snapshot.standardization else {
            Issue.record("not a standardised linear model")
            return
        }
        let x = Array(train.features.prefix(train.columns))
        let explanation = try model.explain(x, targetClass: 2)
        #expect(explanation.method == .linear)
        #expect(explanation.output == "logit")
        let row = explanation.rows[0]
        for i in 0..<train.columns {
            let expected = p.weights[i * p.outputs + 2] / st.scale[i] * (x[i] - st.mean[i])
            #expect(abs(row.attributions[i] - expected) < 1e-5)
        }
        #expect(row.completenessError < 1e-5)
        #expect(abs(row.baselineValue - p.biases[2]) < 1e-6)
        // The softmax's log-ratio of two classes is the difference of their logits.
        let probabilities = try #require(model.predictProbabilities(x))
        let logitGap = log(probabilities[0, 2]) - log(probabilities[0, 0])
        let otherGap = try model.explain(x, targetClass: 0).rows[0]
        #expect(abs((row.value - otherGap.value) - logitGap) < 1e-4)
    }

    @Test("a binary logistic regression explains either class on its log-odds: opposite attributions")
    func binaryLogisticLogOdds() throws {
        let (train, _) = try bundled("breast_cancer")
        let model = try Trainer.train(spec: .logistic(LinearSpec()), dataset: train)
        let x = Array(train.features.prefix(train.columns))
        let (zero, one) = (try model.explain(x, targetClass: 0).rows[0], try model.explain(x, targetClass: 1).rows[0])
        let probabilities = try #require(model.predictProbabilities(x))
        #expect(abs(one.value - (log(probabilities[0, 1]) - log(probabilities[0, 0]))) < 1e-3)
        #expect(abs(zero.value + one.value) < 1e-5 && zero.attributions.contains { abs($0) > 1e-3 })
        for (a, b) in zip(zero.attributions, one.attributions) { #expect(abs(a + b) < 1e-5) }
        #expect(zero.completenessError < 1e-4)
    }

    @Test("without standardisation the training mean stored at training time is the baseline")
    func unstandardisedBaseline() throws {
        let (train, _) = try bundled("iris")
        let rows = Array(train.features.prefix(5 * train.columns))
        for spec: ModelSpec in [
            .logistic(LinearSpec()), .dense(DenseNetSpec(hiddenLayers: [.init(units: 16, activation: .relu)])),
        ] {
            let model = try Trainer.train(
                spec: spec,
                options: TrainingOptions(epochs: 5, seed: 7, standardize: false),
                dataset: train
            )
            #expect(model.snapshot.standardization == nil)
            let means = model.snapshot.featureMeans
            #expect(means.count == train.columns && means.allSatisfy { $0 > 0 })
            let explanation = try model.explain(rows)
            #expect(explanation.baseline == means)
            for row in explanation.rows {
                #expect(row.completenessError <= 0.01 * max(abs(row.value - row.baselineValue), 1e-3), "\(spec)")
            }
            let atMean = try model.explain(means, targetClass: 1).rows[0]
            #expect(atMean.attributions.allSatisfy { abs($0) < 1e-6 }, "\(spec)")
            #expect(abs(atMean.value - atMean.baselineValue) < 1e-6)
        }
    }

    /// A depth-2 tree on two features: f = 1 when both x0 > 0.5 and x1 > 0.5, with 4 equal leaves.
    static let andTree = TreeParameters(
        criterion: .mse,
        outputs: 1,
        feature: [0, 1, -1, -1, 1, -1, -1],
        threshold: [0.5, 0.5, 0, 0, 0.5, 0, 0],
        left: [1, 2, -1, -1, 5, -1, -1],
        right: [4, 3, -1, -1, 6, -1, -1],
        value: [0.25, 0, 0, 0, 0.5, 0, 1],
        weight: [100, 50, 25, 25, 50, 25, 25]
    )

    @Test("TreeSHAP: local accuracy Σφ + E[f] = f(x), symmetry of symmetric features, and the exact values")
    func treeShapOnASmallTree() throws {
        let snapshot = ModelSnapshot(
            task: .regression,
            featureNames: ["a", "b", "c"],
            classNames: [],
            standardization: nil,
            parameters: .tree(Self.andTree),
            training: TrainingSummary(epochsRun: 1, trainingSamples: 100, durationSeconds: 0)
        )
        let model = try TrainedModel(snapshot: snapshot)
        let explanation = try model.explain([1, 1, 7, 0, 1, 7])
        #expect(explanation.method == .treeShap)
        let both = explanation.rows[0]
        #expect(both.baselineValue == 0.25)
        #expect(both.value == 1)
        // AND of two independent fair coins: each feature gets half of 1 − 0.25; c is never used.
        #expect(zip(both.attributions, [0.375, 0.375, 0]).allSatisfy { abs($0 - $1) < 1e-7 })
        let one = explanation.rows[1]
        #expect(one.value == 0)
        #expect(abs(one.attributions.reduce(0, +) + one.baselineValue - one.value) < 1e-7)
        // x = (0, 1): v(∅) = ¼, v(a) = 0, v(b) = ½, v(ab) = 0, so φ = (−0.375, 0.125).
        #expect(zip(one.attributions, [-0.375, 0.125, 0]).allSatisfy { abs($0 - $1) < 1e-7 })
    }

    @Test("TreeSHAP on trained trees, forests and gbdt is locally accurate on every row")
    func treeShapLocalAccuracy() throws {
        let (train, _) = try bundled("breast_cancer")
        let rows = Array(train.features.prefix(10 * train.columns))
        for spec: ModelSpec in [
            .tree(TreeSpec(maxDepth: 6)), .forest(ForestSpec(trees: 8)), .gbdt(GradientBoostingSpec(iterations: 10)),
        ] {
            let model = try Trainer.train(spec: spec, dataset: train)
            let explanation = try model.explain(rows)
            let probabilities = model.predictProbabilities(rows)
            for (r, row) in explanation.rows.enumerated() {
                #expect(row.completenessError < 1e-5, "\(spec) row \(r)")
                if case .gbdt = spec { continue }
                #expect(abs(row.value - probabilities![r, row.classId!]) < 1e-5)
            }
        }
    }

    @Test("a method of another family, a missing class, int8 models and trees without node weights are refused")
    func refusals() throws {
        let (model, train) = try TransformTests.digitsNet(hidden: [16], epochs: 1)
        let row = Array(train.features.prefix(train.columns))
        #expect(throws: TrainingError.self) { try model.explain(row, method: .treeShap) }
        #expect(throws: TrainingError.self) { try model.explain(row, targetClass: 10) }
        #expect(throws: TrainingError.self) { try model.explain(row, steps: 0) }
        let int8 = try TrainedModel(snapshot: Quantization.quantize(model.snapshot, calibration: train.features))
        #expect(throws: TrainingError.self) { try int8.explain(row) }
        var tree = Self.andTree
        tree.weight = []
        let imported = try TrainedModel(
            snapshot: ModelSnapshot(
                task: .regression,
                featureNames: ["a", "b"],
                classNames: [],
                standardization: nil,
                parameters: .tree(tree),
                training: TrainingSummary(epochsRun: 1, trainingSamples: 0, durationSeconds: 0)
            )
        )
        let error = #expect(throws: TrainingError.self) { try imported.explain([0, 0]) }
        #expect(error?.message.contains("no training weight per node") == true)
    }
}
