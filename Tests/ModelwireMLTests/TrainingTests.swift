import ModelwireData
import ModelwireTestSupport
import Testing

@testable import ModelwireML

/// A box the test's closures share (tests run the training synchronously on one thread).
final class Counter: @unchecked Sendable {
    var value = 0
}

@Suite(.ownThreads) struct TrainingTests {
    @Test func sameSeedSameModelOtherSeedOtherModel() throws {
        let (train, _) = try bundled("iris")
        let options = TrainingOptions.defaults {
            $0.epochs = 3
            $0.seed = 42
        }
        let a = try Trainer.train(spec: .referenceNetwork, options: options, dataset: train)
        let b = try Trainer.train(spec: .referenceNetwork, options: options, dataset: train)
        let c = try Trainer.train(
            spec: .referenceNetwork,
            options: .defaults {
                $0.epochs = 3
                $0.seed = 43
            },
            dataset: train
        )
        #expect(a.snapshot.parameters == b.snapshot.parameters)
        #expect(a.snapshot.parameters != c.snapshot.parameters)
    }

    @Test func twoThreadsTrainTheSameModel() throws {
        let (train, _) = try bundled("digits")
        let one = try Trainer.train(
            spec: .referenceNetwork,
            options: .defaults {
                $0.epochs = 2
                $0.batchSize = 512
            },
            dataset: train
        )
        let two = try Trainer.train(
            spec: .referenceNetwork,
            options: .defaults {
                $0.epochs = 2
                $0.batchSize = 512
                $0.threads = 2
            },
            dataset: train
        )
        #expect(one.snapshot.parameters == two.snapshot.parameters)
    }

    @Test func cancellationBetweenBatches() throws {
        let (train, _) = try bundled("digits")
        let checks = Counter()
        let error = #expect(throws: TrainingError.self) {
            try Trainer.train(
                spec: .referenceNetwork,
                dataset: train,
                isCancelled: {
                    checks.value += 1
                    return checks.value > 5
                }
            )
        }
        #expect(error?.code == .cancelled)
        #expect(checks.value == 6)
    }

    @Test func cancellationWhileGrowingATree() throws {
        let (train, _) = try bundled("breast_cancer")
        let checks = Counter()
        let error = #expect(throws: TrainingError.self) {
            try Trainer.train(
                spec: .tree(TreeSpec()),
                dataset: train,
                isCancelled: {
                    checks.value += 1
                    return checks.value > 3
                }
            )
        }
        #expect(error?.code == .cancelled)
        #expect(checks.value == 4)
    }

    @Test func progressReportsEpochsAndBatches() throws {
        let (train, _) = try bundled("iris")  // 120 rows: 4 batches of 32
        var reports = [TrainingProgress]()
        _ = try Trainer.train(
            spec: .referenceNetwork,
            options: .defaults {
                $0.epochs = 2
                $0.progressEveryBatches = 2
                $0.validationSplit = 0.25
            },
            dataset: train,
            progress: { reports.append($0) }
        )
        // 90 training rows → 3 batches: one batch report (after batch 2) and one epoch report per epoch.
        #expect(reports.map(\.kind) == [.batch, .epochEnd, .batch, .epochEnd])
        let end = reports[3]
        #expect(end.epoch == 2 && end.epochs == 2 && end.batch == 3 && end.batchesPerEpoch == 3)
        #expect(end.validationLoss != nil && end.validationAccuracy != nil && end.accuracy != nil)
        #expect(end.samplesPerSecond > 0 && end.estimatedSecondsRemaining == 0)
        #expect(reports[0].validationLoss == nil && reports[0].estimatedSecondsRemaining > 0)
    }

    @Test func earlyStoppingStopsAndRestoresBest() throws {
        let (train, _) = try bundled("breast_cancer")
        var losses = [Float]()
        let model = try Trainer.train(
            spec: .referenceNetwork,
            options: .defaults {
                $0.epochs = 200
                $0.optimizer.learningRate = 0.01
                $0.validationSplit = 0.2
                $0.earlyStopping = .init(monitor: .validationLoss, patience: 3)
            },
            dataset: train,
            progress: { if $0.kind == .epochEnd { losses.append($0.validationLoss!) } }
        )
        let summary = model.snapshot.training
        #expect(summary.earlyStopped)
        #expect(summary.epochsRun < 200 && summary.epochsRun == losses.count)
        #expect(summary.validationLoss == losses.min())
    }

    @Test("every optimizer lowers the loss", arguments: OptimizerKind.allCases)
    func optimizer(kind: OptimizerKind) throws {
        let (train, _) = try bundled("iris")
        let rate: Float = kind == .adam ? 0.01 : 0.1
        var losses = [Float]()
        _ = try Trainer.train(
            spec: .referenceNetwork,
            options: .defaults {
                $0.epochs = 8
                $0.optimizer = .init(kind: kind, learningRate: rate)
            },
            dataset: train,
            progress: { losses.append($0.loss) }
        )
        #expect(losses.count == 8)
        #expect(losses.last! < losses.first! * 0.8, "\(kind): \(losses)")
    }

    @Test func l2ShrinksWeights() throws {
        let (train, _) = try bundled("iris")
        func norm(_ m: TrainedModel) -> Float {
            guard case .dense(let p) = m.snapshot.parameters else { return 0 }
            return p.layers.flatMap(\.weights).reduce(0) { $0 + $1 * $1 }
        }
        let plain = try Trainer.train(spec: .referenceNetwork, options: .defaults { $0.epochs = 20 }, dataset: train)
        let decayed = try Trainer.train(
            spec: .referenceNetwork,
            options: .defaults {
                $0.epochs = 20
                $0.l2 = 0.01
            },
            dataset: train
        )
        #expect(norm(decayed) < norm(plain))
    }

    @Test("the validation split is stratified: each class gives its share of the held-out rows")
    func validationSplitIsStratified() throws {
        // Classes of 60, 30, 9 and 1 rows; 20 % held out: 20 rows, shared 12, 6, 2 (1.8 rounds up
        // as the largest remainder), 0 (the lone row stays to be fitted).
        let ids = Array(repeating: 0, count: 60) + Array(repeating: 1, count: 30) + Array(repeating: 2, count: 9) + [3]
        let data = Dataset(
            featureNames: ["x"],
            features: ids.indices.map { Float($0) },
            targets: .classes(names: ["a", "b", "c", "d"], ids: ids)
        )
        let (fit, held) = data.stratifiedHoldOut(fraction: 0.2, seed: 7)
        #expect(held.count == 20 && fit.count == 80 && Set(fit + held).count == 100)
        #expect([0, 1, 2, 3].map { c in held.filter { ids[$0] == c }.count } == [12, 6, 2, 0])
        #expect(data.stratifiedHoldOut(fraction: 0.2, seed: 7) == (fit, held))
        #expect(data.stratifiedHoldOut(fraction: 0.2, seed: 8).held != held)
        // Regression: 20 % of all rows, no classes to share them.
        let values = Dataset(featureNames: ["x"], features: [1, 2, 3, 4, 5], targets: .values([1, 2, 3, 4, 5]))
        #expect(values.stratifiedHoldOut(fraction: 0.2, seed: 1).held.count == 1)
    }

    @Test func standardizationIsFittedOnTrainingRowsOnly() throws {
        let data = Dataset(
            featureNames: ["x"],
            features: [0, 2, 4, 6, 100, 100],
            targets: .classes(names: ["a", "b"], ids: [0, 1, 0, 1, 0, 1])
        )
        let st = Standardization(fitting: Array(data.features.prefix(4)), columns: 1)
        #expect(st.mean == [3])
        #expect(abs(st.scale[0] - 5.0.squareRoot().float) < 1e-6)
        #expect(Standardization(fitting: [5, 5, 5], columns: 1).scale == [1])
        let model = try Trainer.train(
            spec: .logistic(LinearSpec()),
            options: .defaults {
                $0.epochs = 1
                $0.validationSplit = 0.5
            },
            dataset: data
        )
        // Three training rows only: the mean is theirs, not the full column's.
        #expect(model.snapshot.standardization!.mean[0] != Float(212.0 / 6))
        #expect(model.snapshot.training.trainingSamples == 3)
    }

    @Test func badOptionsAreRejected() throws {
        let (train, _) = try bundled("iris")
        let noValidation = #expect(throws: TrainingError.self) {
            try Trainer.train(
                spec: .referenceNetwork,
                options: .defaults { $0.earlyStopping = .init() },
                dataset: train
            )
        }
        #expect(noValidation?.code == .invalidArgument)
        #expect(throws: TrainingError.self) {
            try Trainer.train(spec: .dense(DenseNetSpec(outputActivation: .sigmoid)), dataset: train)
        }
    }
}

extension Double {
    fileprivate var float: Float { Float(self) }
}
