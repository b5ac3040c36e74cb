import Foundation
import ModelwireData
import ModelwireTestSupport
import Testing

@testable import ModelwireML

/// Cross-validation folds, grid expansion, random search and the cross-validated search itself.
@Suite(.ownThreads) struct TuningTests {
    static func classes(_ labels: [String]) -> Dataset {
        let names = Array(Set(labels)).sorted()
        return Dataset(
            featureNames: ["x"],
            features: labels.indices.map(Float.init),
            targets: .classes(names: names, ids: labels.map { names.firstIndex(of: $0)! })
        )
    }

    /// The expected folds are scikit-learn 1.9.1's `StratifiedKFold(3).split(y, y)` and `KFold(4)`.
    @Test func unshuffledFoldsAreScikitLearns() throws {
        let y = ["b", "a", "b", "c", "a", "b", "a", "c", "b", "a", "b", "c", "a", "b"]
        let stratified = try CrossValidationFolds(Self.classes(y), folds: 3, shuffleSeed: nil)
        #expect(stratified.stratified)
        #expect(stratified.testRows == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11, 12, 13]])
        #expect(stratified.trainingRows(2) == Array(0..<10))
        let regression = Dataset(
            featureNames: ["x"],
            features: (0..<10).map(Float.init),
            targets: .values((0..<10).map(Float.init))
        )
        let plain = try CrossValidationFolds(regression, folds: 4, shuffleSeed: nil)
        #expect(!plain.stratified)
        #expect(plain.testRows == [[0, 1, 2], [3, 4, 5], [6, 7], [8, 9]])
    }

    @Test func shuffledStratifiedFoldsCoverEveryRowOnceKeepClassSharesAndFollowTheSeed() throws {
        let (train, _) = try bundled("iris")
        let folds = try CrossValidationFolds(train, folds: 5, shuffleSeed: 7)
        #expect(folds.testRows.flatMap { $0 }.sorted() == Array(0..<train.rows))
        let ids = train.classIDs
        for c in 0..<train.classNames.count {
            let total = ids.filter { $0 == c }.count
            for fold in folds.testRows {
                let inFold = fold.filter { ids[$0] == c }.count
                #expect(abs(inFold * 5 - total) <= 5, "class \(c): \(inFold) of \(total) in a fold")
            }
        }
        #expect(try CrossValidationFolds(train, folds: 5, shuffleSeed: 7) == folds)
        #expect(try CrossValidationFolds(train, folds: 5, shuffleSeed: 8) != folds)
        #expect(try CrossValidationFolds(train, folds: 5, shuffleSeed: nil) != folds)
    }

    @Test func impossibleFoldCountsNameTheParameterAndTheClass() {
        let y = ["a", "a", "a", "b", "b", "a"]
        #expect(throws: TrainingError.self) { try CrossValidationFolds(Self.classes(y), folds: 1, shuffleSeed: nil) }
        do {
            _ = try CrossValidationFolds(Self.classes(y), folds: 3, shuffleSeed: nil)
            Issue.record("3 folds over a class of 2 rows was accepted")
        } catch {
            #expect(error.message.contains("folds 3") && error.message.contains("\"b\""))
        }
        #expect(throws: TrainingError.self) { try CrossValidationFolds(explicit: [[0, 1], [1, 2]], rows: 3) }
        #expect(throws: TrainingError.self) { try CrossValidationFolds(explicit: [[0], [1]], rows: 3) }
        #expect(throws: Never.self) { try CrossValidationFolds(explicit: [[2, 0], [1]], rows: 3) }
    }

    @Test func theGridExpandsLastAxisFastestAndRandomSearchIsSeeded() throws {
        let grid = try ParameterGrid([
            .init(name: "hidden", values: ["32", "64,64"]),
            .init(name: "learning-rate", values: ["0.001", "0.01"]),
            .init(name: "l2", values: ["0", "0.0001"]),
        ])
        #expect(grid.combinations == 8)
        #expect(grid.combination(0) == ["32", "0.001", "0"])
        #expect(grid.combination(1) == ["32", "0.001", "0.0001"])
        #expect(grid.combination(7) == ["64,64", "0.01", "0.0001"])
        #expect(grid.trials(random: nil, seed: 0) == Array(0..<8))
        let drawn = grid.trials(random: 3, seed: 42)
        #expect(drawn.count == 3 && Set(drawn).count == 3 && drawn.allSatisfy { $0 < 8 })
        #expect(grid.trials(random: 3, seed: 42) == drawn)
        #expect((0..<20).contains { grid.trials(random: 3, seed: UInt64($0)) != drawn })
        #expect(grid.trials(random: 100, seed: 1) == Array(0..<8))
        let huge = try ParameterGrid((0..<6).map { .init(name: "p\($0)", values: (0..<10).map(String.init)) })
        #expect(huge.combinations == 1_000_000)
        #expect(throws: TrainingError.self) { try ParameterGrid([.init(name: "a", values: [])]) }
        #expect(throws: TrainingError.self) {
            try ParameterGrid([.init(name: "a", values: ["1"]), .init(name: "a", values: ["2"])])
        }
    }

    @Test func crossValidationScoresEveryTrialOnEveryFoldAndPicksTheBest() throws {
        let (train, _) = try bundled("iris")
        let folds = try CrossValidationFolds(train, folds: 3, shuffleSeed: 1)
        let depths = [1, 3]
        let reported = ReportedTrials()
        let outcomes = try Tuning.crossValidate(
            trials: depths.count,
            dataset: train,
            folds: folds,
            metric: .accuracy,
            workers: 2,
            fit: { trial, rows throws(TrainingError) in
                try Trainer.train(spec: .tree(TreeSpec(maxDepth: depths[trial])), dataset: rows)
            },
            trialFinished: { reported.add($0.index) },
            isCancelled: { false }
        )
        #expect(outcomes.map(\.index) == [0, 1])
        #expect(outcomes.allSatisfy { $0.foldScores.count == 3 })
        #expect(reported.sorted == [0, 1])
        // A stump separates one iris class of three: at most 2/3 accuracy; depth 3 does far better.
        #expect(outcomes[0].mean < 0.7 && outcomes[1].mean > 0.85)
        #expect(Tuning.best(outcomes, greaterIsBetter: true) == 1)
        #expect(Tuning.best(outcomes, greaterIsBetter: false) == 0)
        let manual = try (0..<3).map { f in
            let model = try Trainer.train(
                spec: .tree(TreeSpec(maxDepth: 3)),
                dataset: train.subset(folds.trainingRows(f))
            )
            return try TuningMetric.accuracy.value(of: try model.evaluate(train.subset(folds.testRows[f])))
        }
        #expect(outcomes[1].foldScores == manual)
        #expect(throws: TrainingError.self) {
            try Tuning.crossValidate(
                trials: 1,
                dataset: train,
                folds: folds,
                metric: .accuracy,
                workers: 1,
                fit: { _, rows throws(TrainingError) in try Trainer.train(spec: .tree(TreeSpec()), dataset: rows) },
                trialFinished: { _ in },
                isCancelled: { true }
            )
        }
    }
}

/// Trial indices reported from the search's worker threads.
private final class ReportedTrials: @unchecked Sendable {
    private var indices: [Int] = []
    private let lock = NSLock()
    func add(_ index: Int) {
        lock.lock()
        indices.append(index)
        lock.unlock()
    }
    var sorted: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return indices.sorted()
    }
}
