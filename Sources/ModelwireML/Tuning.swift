import Dispatch
import Foundation
import ModelwireData

/// The cross-validation score a search ranks its trials by (what `evaluate` computes).
public enum TuningMetric: String, Sendable, Hashable, CaseIterable {
    /// Share of rows classified right.
    case accuracy
    /// Unweighted mean of the per-class F1 scores.
    case f1Macro = "f1_macro"
    /// Mean cross-entropy of the predicted probabilities (classifiers with probabilities).
    case logLoss = "log_loss"
    /// Root mean squared error (regression).
    case rmse
    /// Coefficient of determination (regression).
    case r2

    /// Whether a larger value is a better model.
    public var greaterIsBetter: Bool { self != .logLoss && self != .rmse }

    /// Whether the metric scores classifiers (else regressors).
    public var isClassification: Bool { self == .accuracy || self == .f1Macro || self == .logLoss }

    /// The metric's value in an evaluation.
    /// - Throws: `TrainingError.invalidArgument` when the evaluation does not have it (log loss
    ///   of a model without probabilities, a regression metric of a classifier).
    public func value(of evaluation: TrainedModel.Evaluation) throws(TrainingError) -> Double {
        switch (self, evaluation) {
        case (.accuracy, .classification(let m)): return m.accuracy
        case (.f1Macro, .classification(let m)): return m.macro.f1
        case (.logLoss, .classification(let m)):
            guard let logLoss = m.logLoss else {
                throw TrainingError(.invalidArgument, "metric log_loss needs a model with probabilities")
            }
            return logLoss
        case (.rmse, .regression(let m)): return m.meanSquaredError.squareRoot()
        case (.r2, .regression(let m)): return m.r2
        default:
            throw TrainingError(
                .invalidArgument,
                "metric \(rawValue) is for \(isClassification ? "classification" : "regression") models"
            )
        }
    }
}

/// One scored configuration of a search.
public struct TrialOutcome: Sendable, Equatable {
    /// The trial's position in the search (0-based).
    public var index: Int
    /// The metric on each fold's held-out rows, in fold order.
    public var foldScores: [Double]
    /// Wall time of the trial's fits and scoring.
    public var seconds: Double

    /// Mean of the fold scores.
    public var mean: Double { foldScores.reduce(0, +) / Double(max(foldScores.count, 1)) }
    /// Population standard deviation of the fold scores (numpy's `std`).
    public var std: Double {
        let m = mean
        return (foldScores.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(max(foldScores.count, 1))).squareRoot()
    }
}

/// Cross-validated hyper-parameter search: every (trial, fold) fit runs on one of `workers`
/// threads; a trial is reported when its last fold is scored.
public enum Tuning {
    /// Scores trials by k-fold cross-validation.
    /// - Parameters:
    ///   - trials: How many configurations.
    ///   - dataset: All rows.
    ///   - folds: The splits of `dataset`'s rows.
    ///   - metric: What each fold's held-out rows are scored by.
    ///   - workers: Fits run at once (≥ 1).
    ///   - fit: Trains configuration `trial` on the given rows (checking `isCancelled` between batches).
    ///   - trialFinished: Called (on a worker thread, one call at a time) as each trial's last fold is scored.
    ///   - isCancelled: Checked before every fit; true stops the search with `TrainingError.cancelled`.
    /// - Returns: The outcomes, by trial index.
    /// - Throws: `TrainingError`: the first fit's or metric's failure, or `.cancelled`.
    public static func crossValidate(
        trials: Int,
        dataset: Dataset,
        folds: CrossValidationFolds,
        metric: TuningMetric,
        workers: Int,
        fit: @escaping @Sendable (_ trial: Int, _ rows: Dataset) throws(TrainingError) -> TrainedModel,
        trialFinished: @escaping @Sendable (TrialOutcome) -> Void,
        isCancelled: @escaping @Sendable () -> Bool
    ) throws(TrainingError) -> [TrialOutcome] {
        let k = folds.count
        let splits = (0..<k).map {
            (train: dataset.subset(folds.trainingRows($0)), test: dataset.subset(folds.testRows[$0]))
        }
        struct Progress {
            var next = 0
            var scores: [[Double?]]
            var started: [Date?]
            var outcomes: [TrialOutcome?]
            var failure: TrainingError?
        }
        let state = Locked(
            Progress(
                scores: Array(repeating: Array(repeating: nil, count: k), count: trials),
                started: Array(repeating: nil, count: trials),
                outcomes: Array(repeating: nil, count: trials)
            )
        )
        let report = Locked(())
        let tasks = trials * k
        let work: @Sendable (Int) -> Void = { _ in
            while true {
                let task = state.withLock { s -> Int? in
                    guard s.failure == nil, s.next < tasks else { return nil }
                    if isCancelled() {
                        s.failure = TrainingError(.cancelled, "the search was cancelled")
                        return nil
                    }
                    defer { s.next += 1 }
                    if s.started[s.next / k] == nil { s.started[s.next / k] = Date() }
                    return s.next
                }
                guard let task else { return }
                let (trial, fold) = task.quotientAndRemainder(dividingBy: k)
                do throws(TrainingError) {
                    let model = try fit(trial, splits[fold].train)
                    let evaluation: TrainedModel.Evaluation
                    do { evaluation = try model.evaluate(splits[fold].test) } catch {
                        throw TrainingError(.invalidArgument, "scoring fold \(fold + 1): \(error)")
                    }
                    let score = try metric.value(of: evaluation)
                    let finished = state.withLock { s -> TrialOutcome? in
                        s.scores[trial][fold] = score
                        guard s.scores[trial].allSatisfy({ $0 != nil }) else { return nil }
                        let outcome = TrialOutcome(
                            index: trial,
                            foldScores: s.scores[trial].map { $0! },
                            seconds: Date().timeIntervalSince(s.started[trial]!)
                        )
                        s.outcomes[trial] = outcome
                        return outcome
                    }
                    if let finished { report.withLock { _ in trialFinished(finished) } }
                } catch {
                    state.withLock { s in if s.failure == nil { s.failure = error } }
                    return
                }
            }
        }
        let threads = max(1, min(workers, tasks))
        if threads == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: threads, execute: work) }
        let end = state.withLock { $0 }
        if let failure = end.failure { throw failure }
        return end.outcomes.map { $0! }
    }

    /// A value behind a lock that escaping closures can share (a `Mutex` cannot be captured).
    private final class Locked<Value>: @unchecked Sendable {
        private var value: Value
        private let lock = NSLock()
        init(_ value: Value) { self.value = value }
        func withLock<R>(_ body: (inout Value) -> R) -> R {
            lock.lock()
            defer { lock.unlock() }
            return body(&value)
        }
    }

    /// The best outcome's index: highest mean (lowest when `greaterIsBetter` is false), the
    /// earliest trial on a tie (as scikit-learn's `best_index_`).
    public static func best(_ outcomes: [TrialOutcome], greaterIsBetter: Bool) -> Int? {
        var best: TrialOutcome?
        for o in outcomes {
            guard let b = best else {
                best = o
                continue
            }
            if greaterIsBetter ? o.mean > b.mean : o.mean < b.mean { best = o }
        }
        return best?.index
    }
}
