import ModelwireData
import ModelwireTestSupport
import Testing

@testable import ModelwireML

/// Random forests and gradient-boosted trees.
@Suite(.ownThreads) struct EnsembleTests {
    @Test func forestIsTheSameForEveryThreadCount() throws {
        let (train, test) = try bundled("breast_cancer")
        let one = try Trainer.train(spec: .forest(ForestSpec(trees: 12, threads: 1)), dataset: train)
        let two = try Trainer.train(spec: .forest(ForestSpec(trees: 12, threads: 2)), dataset: train)
        let three = try Trainer.train(spec: .forest(ForestSpec(trees: 12, threads: 3)), dataset: train)
        #expect(one.snapshot.parameters == two.snapshot.parameters)
        #expect(one.snapshot.parameters == three.snapshot.parameters)
        let reseeded = try Trainer.train(
            spec: .forest(ForestSpec(trees: 12)),
            options: .defaults { $0.seed = 1 },
            dataset: train
        )
        #expect(reseeded.snapshot.parameters != one.snapshot.parameters)
        let acc = try accuracy(one, on: test)
        #expect(acc >= 0.92, "\(acc)")
        guard case .forest(let f) = one.snapshot.parameters else {
            Issue.record("not a forest")
            return
        }
        #expect(f.trees.count == 12)
        // Bootstrap: the root weight is n (rows drawn with replacement), over fewer distinct rows.
        #expect(f.trees.allSatisfy { $0.weight[0] == Float(train.rows) })
        #expect(f.trees[0].feature != f.trees[1].feature)
    }

    @Test func forestBeatsOneTreeOnDigits() throws {
        let (train, test) = try bundled("digits")
        let forest = try Trainer.train(spec: .forest(ForestSpec(trees: 30, threads: 2)), dataset: train)
        #expect(try accuracy(forest, on: test) >= 0.95)
        let p = try #require(forest.predictProbabilities(Array(test.features.prefix(test.columns))))
        #expect(abs(p.values.reduce(0, +) - 1) < 1e-5)
    }

    @Test func forestRegression() throws {
        var g = SeededGenerator(seed: 4)
        let rows = 300
        let x = (0..<rows * 3).map { _ in g.nextUnitFloat() * 4 - 2 }
        let y = (0..<rows).map { (r: Int) -> Float in
            let a = x[3 * r]
            let b = x[3 * r + 1]
            return a * a - b
        }
        let data = Dataset(featureNames: ["a", "b", "c"], features: x, targets: .values(y))
        let model = try Trainer.train(spec: .forest(ForestSpec(trees: 20)), dataset: data)
        guard case .regression(let m) = try model.evaluate(data) else {
            Issue.record("not a regressor")
            return
        }
        #expect(m.r2 > 0.9)
        let boosted = try Trainer.train(spec: .gbdt(GradientBoostingSpec(minSamplesLeaf: 5)), dataset: data)
        guard case .regression(let b) = try boosted.evaluate(data) else {
            Issue.record("not a regressor")
            return
        }
        #expect(b.r2 > 0.9)
    }

    @Test("gbdt training loss decreases", arguments: ["breast_cancer", "iris"])
    func gbdtLossDecreases(name: String) throws {
        let (train, test) = try bundled(name)
        var losses = [Float]()
        let model = try Trainer.train(
            spec: .gbdt(GradientBoostingSpec(iterations: 30)),
            dataset: train,
            progress: { losses.append($0.loss) }
        )
        losses.removeLast()  // the summary's report repeats the last loss
        #expect(losses.count == 30)
        #expect(zip(losses, losses.dropFirst()).allSatisfy { $1 <= $0 + 1e-6 })
        #expect(losses.last! < losses.first! / 2)
        #expect(try accuracy(model, on: test) >= 0.9)
        guard case .gbdt(let p) = model.snapshot.parameters else {
            Issue.record("not gbdt")
            return
        }
        let classes = train.classNames.count
        #expect(p.outputs == (classes == 2 ? 1 : classes))
        #expect(p.trees.count == 30 * p.outputs)
        #expect(p.trees.allSatisfy { $0.feature.filter { $0 < 0 }.count <= 31 })
    }

    @Test func gbdtStopsEarly() throws {
        let (train, _) = try bundled("breast_cancer")
        let model = try Trainer.train(
            spec: .gbdt(
                GradientBoostingSpec(
                    iterations: 500,
                    learningRate: 0.5,
                    earlyStopping: .on,
                    validationFraction: 0.2,
                    iterationsWithoutChange: 5
                )
            ),
            dataset: train
        )
        #expect(model.snapshot.training.earlyStopped)
        #expect(model.snapshot.training.epochsRun < 500)
        #expect(GradientBoosting.shouldStop([-3, -2, -2, -2], patience: 2, tolerance: 0))
        #expect(!GradientBoosting.shouldStop([-3, -2, -1.5, -2], patience: 2, tolerance: 0))
    }

    @Test func badEnsembleParametersAreRejected() throws {
        let (train, _) = try bundled("iris")
        let forests: [(ForestSpec, String)] = [
            (ForestSpec(trees: 0), "trees"), (ForestSpec(trees: 1_000_000), "trees"),
            (ForestSpec(threads: 0), "threads"),
            (ForestSpec(tree: TreeSpec(maxBins: 1)), "maxBins"), (ForestSpec(maxFeatures: .fraction(0)), "maxFeatures"),
        ]
        for (spec, name) in forests {
            let error = #expect(throws: TrainingError.self) { try Trainer.train(spec: .forest(spec), dataset: train) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.hasPrefix(name) == true, "\(error?.message ?? "")")
        }
        let boosted: [(GradientBoostingSpec, String)] = [
            (GradientBoostingSpec(iterations: 0), "iterations"),
            (GradientBoostingSpec(learningRate: .nan), "learningRate"),
            (GradientBoostingSpec(maxLeafNodes: 1), "maxLeafNodes"), (GradientBoostingSpec(maxBins: 65536), "maxBins"),
            (GradientBoostingSpec(l2: -1), "l2"), (GradientBoostingSpec(validationFraction: 1), "validationFraction"),
        ]
        for (spec, name) in boosted {
            let error = #expect(throws: TrainingError.self) { try Trainer.train(spec: .gbdt(spec), dataset: train) }
            #expect(error?.message.hasPrefix(name) == true, "\(error?.message ?? "")")
        }
    }
}
