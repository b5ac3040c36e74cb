import ModelwireData
import ModelwireTestSupport
import Testing

@testable import ModelwireML

/// The per-epoch history a training run keeps (`TrainingHistory`) and what each family records.
@Suite(.ownThreads) struct TrainingHistoryTests {
    @Test("the history is capped: evenly spaced epochs, the first and the latest always kept")
    func capped() {
        var history = TrainingHistory(capacity: 100)
        for epoch in 1...1_000 { history.record(TrainingEpoch(epoch: epoch, loss: Float(epoch))) }
        #expect(history.epochs.count <= 100)
        #expect(history.epochs.count > 50)
        #expect(history.stride == 16)
        #expect(history.epochs.first?.epoch == 1 && history.epochs.last?.epoch == 1_000)
        let spaced = history.epochs.dropLast().map(\.epoch)
        #expect(zip(spaced, spaced.dropFirst()).allSatisfy { $1 - $0 == history.stride })
        #expect(history.epochs.allSatisfy { $0.loss == Float($0.epoch) })
        var small = TrainingHistory(capacity: 100)
        for epoch in 1...100 { small.record(TrainingEpoch(epoch: epoch)) }
        #expect(small.epochs.map(\.epoch) == Array(1...100) && small.stride == 1)
        #expect(TrainingHistory().capacity == 10_000)
    }

    @Test("batch reports are ignored; a second report of the same epoch amends it")
    func amends() {
        var history = TrainingHistory()
        func report(_ kind: TrainingProgress.Kind, _ epoch: Int, loss: Float, validation: Float?) -> TrainingProgress {
            TrainingProgress(
                kind: kind,
                epoch: epoch,
                epochs: 2,
                batch: 1,
                batchesPerEpoch: 1,
                loss: loss,
                accuracy: nil,
                validationLoss: nil,
                validationAccuracy: validation,
                samplesPerSecond: 1,
                estimatedSecondsRemaining: 0
            )
        }
        history.record(report(.batch, 1, loss: 9, validation: nil))
        history.record(report(.epochEnd, 1, loss: 0.5, validation: nil))
        history.record(report(.epochEnd, 2, loss: 0.25, validation: nil))
        history.record(report(.epochEnd, 2, loss: 0.25, validation: 0.75))
        #expect(
            history.epochs == [
                TrainingEpoch(epoch: 1, loss: 0.5),
                TrainingEpoch(epoch: 2, loss: 0.25, validationAccuracy: 0.75),
            ]
        )
    }

    @Test("a dense net records every epoch: loss, accuracy and the validation split's")
    func denseEpochs() throws {
        let (train, _) = try bundled("iris")
        var ends = [TrainingProgress]()
        let model = try Trainer.train(
            spec: .referenceNetwork,
            options: .defaults {
                $0.epochs = 6
                $0.validationSplit = 0.2
            },
            dataset: train,
            progress: { if $0.kind == .epochEnd { ends.append($0) } }
        )
        let history = model.snapshot.training.history
        #expect(history.map(\.epoch) == Array(1...6))
        #expect(history.map(\.loss) == ends.map(\.loss))
        #expect(history.map(\.validationAccuracy) == ends.map(\.validationAccuracy))
        #expect(history.allSatisfy { $0.accuracy != nil && $0.validationLoss != nil })
        #expect(history.last?.loss == model.snapshot.training.finalLoss)
        let tuned = try Trainer.fineTune(
            model.snapshot,
            dataset: train,
            options: .defaults { $0.epochs = 3 },
            holdZeros: false
        )
        #expect(tuned.snapshot.training.history.map(\.epoch) == [1, 2, 3])  // fine-tuning's own run
    }

    @Test("trees: gbdt one entry per iteration, a tree and a forest one entry without a loss")
    func treeFamilies() throws {
        let (train, _) = try bundled("iris")
        let options = TrainingOptions.defaults { $0.validationSplit = 0.2 }
        let boosted = try Trainer.train(
            spec: .gbdt(GradientBoostingSpec(iterations: 4)),
            options: options,
            dataset: train
        )
        let history = boosted.snapshot.training.history
        #expect(history.map(\.epoch) == Array(1...boosted.snapshot.training.epochsRun))
        #expect(history.allSatisfy { $0.loss != nil && $0.accuracy == nil })
        #expect(history.last?.validationAccuracy == boosted.snapshot.training.validationAccuracy)
        let forest = try Trainer.train(spec: .forest(ForestSpec(trees: 3)), options: options, dataset: train)
        #expect(
            forest.snapshot.training.history == [
                TrainingEpoch(epoch: 3, validationAccuracy: forest.snapshot.training.validationAccuracy)
            ]
        )
        let tree = try Trainer.train(spec: .tree(TreeSpec(maxDepth: 3)), options: .defaults, dataset: train)
        #expect(tree.snapshot.training.history == [TrainingEpoch(epoch: 1)])
    }
}
