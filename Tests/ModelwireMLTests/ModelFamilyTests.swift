import ModelwireData
import ModelwireTestSupport
import Testing

@testable import ModelwireML

/// Each model family on the bundled data, fixed 80/20 split, with accuracy floors.
@Suite(.ownThreads) struct ModelFamilyTests {
    @Test func digitsMLP() throws {
        let (train, test) = try bundled("digits")
        let model = try Trainer.train(
            spec: .dense(DenseNetSpec()),
            options: .defaults { $0.epochs = 10 },
            dataset: train
        )
        #expect(try accuracy(model, on: test) >= 0.96)
        #expect(model.snapshot.training.epochsRun == 10)
        #expect(model.snapshot.training.finalLoss! < 0.2)
    }

    @Test func breastCancerMLP() throws {
        let (train, test) = try bundled("breast_cancer")
        let model = try Trainer.train(
            spec: .dense(DenseNetSpec()),
            options: .defaults { $0.epochs = 10 },
            dataset: train
        )
        #expect(try accuracy(model, on: test) >= 0.945)
    }

    @Test func breastCancerSigmoidOutput() throws {
        let (train, test) = try bundled("breast_cancer")
        let model = try Trainer.train(
            spec: .dense(DenseNetSpec(outputActivation: .sigmoid)),
            options: .defaults { $0.epochs = 10 },
            dataset: train
        )
        #expect(try accuracy(model, on: test) >= 0.94)
        let p = try #require(model.predictProbabilities(Array(test.features.prefix(2 * test.columns))))
        #expect(p.columns == 2)
        #expect(abs(p[0, 0] + p[0, 1] - 1) < 1e-6)
    }

    @Test func irisLogisticRegressionSGD() throws {
        let (train, test) = try bundled("iris")
        let model = try Trainer.train(
            spec: .logistic(LinearSpec(solver: .sgd)),
            options: .defaults {
                $0.epochs = 100
                $0.batchSize = 16
                $0.optimizer.learningRate = 0.05
            },
            dataset: train
        )
        #expect(try accuracy(model, on: test) >= 0.93)
        guard case .classification(let metrics) = try model.evaluate(test) else {
            Issue.record("not a classifier")
            return
        }
        #expect(metrics.logLoss != nil)
    }

    @Test func linearSVM() throws {
        let (train, test) = try bundled("breast_cancer")
        let options = TrainingOptions.defaults {
            $0.epochs = 20
            $0.optimizer = .init(kind: .sgd, learningRate: 0.01)
        }
        let model = try Trainer.train(spec: .svm(LinearSpec(solver: .sgd, l2: 1e-3)), options: options, dataset: train)
        #expect(try accuracy(model, on: test) >= 0.94)
        #expect(model.predictProbabilities(test.features) == nil)
        #expect(model.decisionScores(test.features).columns == 1)
        guard case .classification(let metrics) = try model.evaluate(test) else {
            Issue.record("not a classifier")
            return
        }
        #expect(metrics.logLoss == nil)
        let (irisTrain, irisTest) = try bundled("iris")
        let ovr = try Trainer.train(
            spec: .svm(LinearSpec()),
            options: .defaults {
                $0.epochs = 60
                $0.optimizer.learningRate = 0.05
            },
            dataset: irisTrain
        )
        #expect(ovr.decisionScores(irisTest.features).columns == 3)
        #expect(try accuracy(ovr, on: irisTest) >= 0.85)
    }

    @Test("decision tree on breast_cancer", arguments: [TreeParameters.Criterion.gini, .entropy])
    func decisionTree(criterion: TreeParameters.Criterion) throws {
        let (train, test) = try bundled("breast_cancer")
        let model = try Trainer.train(spec: .tree(TreeSpec(criterion: criterion, maxDepth: 5)), dataset: train)
        #expect(try accuracy(model, on: test) >= 0.90)
        #expect(model.snapshot.standardization == nil)
        guard case .tree(let tree) = model.snapshot.parameters else {
            Issue.record("not a tree")
            return
        }
        #expect(tree.feature.count > 3)
    }

    @Test func treeGrowthLimits() throws {
        let (train, _) = try bundled("iris")
        let stump = try Trainer.train(spec: .tree(TreeSpec(maxDepth: 1)), dataset: train)
        guard case .tree(let t1) = stump.snapshot.parameters else { return }
        #expect(t1.feature.count == 3)
        let leafy = try Trainer.train(spec: .tree(TreeSpec(minSamplesLeaf: 30)), dataset: train)
        guard case .tree(let t2) = leafy.snapshot.parameters else { return }
        let leaves = t2.feature.indices.filter { t2.feature[$0] < 0 }
        // Every leaf holds ≥ 30 of the 120 rows, so there are at most 4.
        #expect(leaves.count <= 4 && leaves.count >= 2)
        let full = try Trainer.train(spec: .tree(TreeSpec()), dataset: train)
        #expect(try accuracy(full, on: train) == 1)
    }

    @Test func evaluationMatchesLabelsByName() throws {
        let (train, test) = try bundled("iris")
        let model = try Trainer.train(spec: .tree(TreeSpec(maxDepth: 3)), dataset: train)
        // A test file holding only classes 1 and 2: its own ids are 0 and 1.
        let rows = (0..<test.rows).filter { test.classIDs[$0] != 0 }
        let csv =
            "a,b,c,d,label\n"
            + rows.map { r in
                test.featureRow(r).map { "\($0)" }.joined(separator: ",") + ",\(test.classIDs[r])"
            }.joined(separator: "\n")
        let partial = try Dataset(csv: csv)
        #expect(partial.classNames == ["1", "2"])
        guard case .classification(let m) = try model.evaluate(partial) else {
            Issue.record("not a classifier")
            return
        }
        #expect(m.confusionMatrix[0] == [0, 0, 0])
        #expect(m.perClass[1].support + m.perClass[2].support == rows.count)
        let unknown = try Dataset(csv: "a,b,c,d,label\n1,2,3,4,0\n1,2,3,4,virginica\n")
        let error = #expect(throws: DatasetError.self) { try model.evaluate(unknown) }
        #expect(error?.code == .unknownClass)
    }

    @Test func regression() throws {
        // y = 2a − 3b + 1 + noise.
        var g = SeededGenerator(seed: 4)
        let rows = 400
        let x = (0..<rows * 2).map { _ in g.nextUnitFloat() * 4 - 2 }
        let y = (0..<rows).map { 2 * x[2 * $0] - 3 * x[2 * $0 + 1] + 1 + (g.nextUnitFloat() - 0.5) * 0.1 }
        let data = Dataset(featureNames: ["a", "b"], features: x, targets: .values(y))
        let net = try Trainer.train(
            spec: .dense(DenseNetSpec(hiddenLayers: [.init(units: 16, activation: .tanh)])),
            options: .defaults {
                $0.epochs = 40
                $0.optimizer.learningRate = 0.01
            },
            dataset: data
        )
        guard case .regression(let m) = try net.evaluate(data) else {
            Issue.record("not a regressor")
            return
        }
        #expect(m.r2 > 0.98)
        let tree = try Trainer.train(spec: .tree(TreeSpec(maxDepth: 6)), dataset: data)
        guard case .regression(let t) = try tree.evaluate(data) else { return }
        #expect(t.r2 > 0.9)
        #expect(throws: TrainingError.self) { try Trainer.train(spec: .logistic(LinearSpec()), dataset: data) }
    }
}
