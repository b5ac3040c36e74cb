import Foundation
import ModelwireData
import ModelwireTestSupport
import Testing

@testable import ModelwireML

@Suite(.ownThreads) struct SnapshotTests {
    static let specs: [(String, ModelSpec)] = [
        ("dense", .dense(DenseNetSpec(hiddenLayers: [.init(units: 8, activation: .tanh)]))),
        ("logistic", .logistic(LinearSpec())),
        ("svm", .svm(LinearSpec())),
        ("tree", .tree(TreeSpec(maxDepth: 4))),
        ("forest", .forest(ForestSpec(trees: 5, threads: 2))),
        ("gbdt", .gbdt(GradientBoostingSpec(iterations: 5))),
        ("exact tree", .tree(TreeSpec(maxBins: nil))),
    ]

    @Test("snapshot round trips are bit-exact", arguments: 0..<7)
    func roundTrip(index: Int) throws {
        let (train, test) = try bundled("iris")
        let model = try Trainer.train(
            spec: Self.specs[index].1,
            options: .defaults {
                $0.epochs = 3
                $0.validationSplit = 0.2
            },
            dataset: train
        )
        let rebuilt = try TrainedModel(snapshot: model.snapshot)
        #expect(rebuilt.snapshot == model.snapshot)
        let a = model.outputs(test.features)
        let b = rebuilt.outputs(test.features)
        #expect(a.values.map(\.bitPattern) == b.values.map(\.bitPattern))
        #expect(model.snapshot.classNames == ["0", "1", "2"])
        #expect(model.snapshot.featureNames == train.featureNames)
        #expect(model.snapshot.training.trainingSamples == 96)
    }

    @Test func denseLayoutIsInputsByUnits() throws {
        let (train, _) = try bundled("iris")
        let model = try Trainer.train(
            spec: .dense(DenseNetSpec(hiddenLayers: [])),
            options: .defaults { $0.epochs = 1 },
            dataset: train
        )
        guard case .dense(let p) = model.snapshot.parameters else {
            Issue.record("not dense")
            return
        }
        let layer = p.layers[0]
        #expect(
            layer.inputs == 4 && layer.units == 3 && layer.weights.count == 12
                && p.loss == .sparseCategoricalCrossEntropy
        )
        // Recompute one row by hand from the documented layout.
        let row: [Float] = [5.1, 3.5, 1.4, 0.2]
        let st = try #require(model.snapshot.standardization)
        let x = (0..<4).map { (row[$0] - st.mean[$0]) / st.scale[$0] }
        let z = (0..<3).map { j in (0..<4).reduce(layer.biases[j]) { $0 + x[$1] * layer.weights[$1 * 3 + j] } }
        let e = z.map { exp($0 - z.max()!) }
        let p0 = e[0] / e.reduce(0, +)
        #expect(abs(model.predictProbabilities(row)![0, 0] - p0) < 1e-5)
    }

    @Test func foldedStandardizationEqualsStandardizingFirst() {
        var g = SeededGenerator(seed: 21)
        let st = Standardization(mean: [1, -2, 0.5], scale: [2, 0.25, 1])
        let weights = randomMatrix(rows: 3, columns: 4, generator: &g)
        let biases: [Float] = [0.1, -0.2, 0.3, 0]
        let x = randomMatrix(rows: 5, columns: 3, generator: &g)
        var direct = Matrix.multiply(Matrix(rows: 5, columns: 3, values: st.apply(x.values)), weights)
        direct.addBias(biases)
        let (w, b) = st.folded(into: weights.values, biases: biases)
        var folded = Matrix.multiply(x, Matrix(rows: 3, columns: 4, values: w))
        folded.addBias(b)
        #expect(zip(direct.values, folded.values).allSatisfy { isClose($0, $1, relative: 1e-5, absolute: 1e-5) })
    }

    @Test func invalidSnapshotsAreRejected() throws {
        let (train, _) = try bundled("iris")
        let model = try Trainer.train(
            spec: .logistic(LinearSpec()),
            options: .defaults { $0.epochs = 1 },
            dataset: train
        )
        var broken = model.snapshot
        guard case .linear(var p) = broken.parameters else { return }
        p.weights.removeLast()
        broken.parameters = .linear(p)
        let error = #expect(throws: TrainingError.self) { try TrainedModel(snapshot: broken) }
        #expect(error?.code == .invalidSnapshot)
        var noClasses = model.snapshot
        noClasses.classNames = ["only"]
        #expect(throws: TrainingError.self) { try TrainedModel(snapshot: noClasses) }
    }
}
