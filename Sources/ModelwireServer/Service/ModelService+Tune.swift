import Foundation
import ModelwireCodec
import ModelwireData
import ModelwireML
import ModelwireProtocol

/// Tune (issue 15): a grid or random hyper-parameter search scored by k-fold cross-validation,
/// run as one job whose fits use at most `--max-concurrent-jobs` threads; the best configuration
/// is refit on all rows and stored as the model's next version with the trial table.
extension ModelService {
    /// One configuration of the search: its grid values and the spec and options they make.
    private struct Trial: Sendable {
        var settings: [V1.TuneSetting]
        var wireSpec: V1.ModelSpec
        var wireOptions: V1.TrainingOptions
        var spec: ModelSpec
        var options: TrainingOptions
    }

    /// Tune: checks everything (grid names, value types, the trial count, the folds) before a job
    /// exists, then queues the search.
    func tune(_ request: V1.TuneRequest, subscriber: @escaping JobManager.Subscriber) throws -> JobSubscription {
        try ResourceName.validate(request.model, "model")
        let (wireData, preprocessing) = try tuneRows(request)
        try request.metric.requireKnown("metric", code: .invalidArgument)
        let spec = request.spec ?? V1.ModelSpec()
        let metric = try Self.tuningMetric(request.metric, task: spec.task)
        if metric == .logLoss, case .linearSvm? = spec.family {
            throw ModelwireError(
                .invalidArgument,
                "metric log_loss needs class probabilities, and a linear SVM gives decision scores: "
                    + "use accuracy or f1_macro, or family logistic"
            )
        }
        let grid = try Self.grid(request.grid, spec: spec, options: request.options ?? V1.TrainingOptions())
        let maxTrials = request.maxTrials == 0 ? 1000 : Int(request.maxTrials)
        let combinations = grid.combinations
        let planned = request.randomTrials > 0 ? min(UInt64(request.randomTrials), combinations) : combinations
        guard planned <= UInt64(maxTrials) else {
            let sizes = grid.axes.map { "\($0.name) \($0.values.count)" }.joined(separator: " × ")
            throw ModelwireError(
                .invalidArgument,
                "the grid has \(combinations) combinations (\(sizes)), over max_trials \(maxTrials): "
                    + "shrink the grid, raise max_trials, or sample with random_trials"
            )
        }
        try wireData.checkClassLabelsAreCategorical()
        let shape = TrainingShape(wireData)
        var trials: [Trial] = []
        for index in grid.trials(random: request.randomTrials > 0 ? Int(request.randomTrials) : nil, seed: request.seed)
        {
            var wireSpec = spec
            var wireOptions = request.options ?? V1.TrainingOptions()
            if wireOptions.seed == nil { wireOptions.seed = request.seed }
            let values = grid.combination(index)
            for (axis, value) in zip(grid.axes, values) {
                try TuneParameters.apply(axis.name, value, spec: &wireSpec, options: &wireOptions)
            }
            let train = V1.TrainRequest(model: request.model, spec: wireSpec, options: wireOptions)
            try train.checkConsistency(rows: wireData)
            try train.checkResourceCaps(configuration.trainingCaps, shape: shape)
            trials.append(
                Trial(
                    settings: zip(grid.axes, values).map { V1.TuneSetting(name: $0.name, value: $1) },
                    wireSpec: wireSpec,
                    wireOptions: wireOptions,
                    spec: try ModelSpec(wire: wireSpec),
                    options: try TrainingOptions(wire: wireOptions, defaultSeed: request.seed)
                )
            )
        }
        let dataset = try Dataset(wire: wireData)
        let folds: CrossValidationFolds
        do {
            folds =
                request.explicitFolds.isEmpty
                ? try CrossValidationFolds(
                    dataset,
                    folds: request.folds == 0 ? 5 : Int(request.folds),
                    shuffleSeed: request.noShuffle ? nil : request.seed
                )
                : try CrossValidationFolds(
                    explicit: request.explicitFolds.map { $0.testRows.map(Int.init) },
                    rows: dataset.rows
                )
        } catch { throw ModelwireError(.invalidArgument, error.message) }
        let report = V1.TuneReport(
            metric: Self.wire(metric),
            greaterIsBetter: metric.greaterIsBetter,
            folds: UInt32(folds.count),
            combinations: combinations,
            seed: request.seed,
            stratified: folds.stratified
        )
        let workers = configuration.maxConcurrentJobs
        let searched = trials
        let work = JobWork(model: request.model) { [self] progress, isCancelled in
            try runSearch(
                request.model,
                trials: searched,
                dataset: dataset,
                preprocessing: preprocessing,
                folds: folds,
                metric: metric,
                report: report,
                workers: workers,
                progress: progress,
                isCancelled: isCancelled
            )
        }
        let (job, id) = try jobs.submit(work, subscriber: subscriber)
        return JobSubscription(job: job, id: id)
    }

    /// A Tune call's rows as numeric rows, and the preprocessing fitted when they came as a table.
    private func tuneRows(_ request: V1.TuneRequest) throws -> (V1.Dataset, V1.Preprocessing?) {
        let table: V1.LabelledTable
        switch request.data {
        case .inlineData(let rows)?:
            guard request.preprocessing == nil else { throw JobManager.preprocessingWithoutTable }
            return (rows, nil)
        case .dataset(let name)?:
            switch try datasets.rows(named: name) {
            case .dataset(let rows):
                guard request.preprocessing == nil else { throw JobManager.preprocessingWithoutTable }
                return (rows, nil)
            case .table(let stored): table = stored
            }
        case .table(let given)?: table = given
        case nil:
            throw ModelwireError(.invalidArgument, "the request has no training data (inline_data, dataset or table)")
        }
        let fitted = try TableRows.fit(table, spec: request.preprocessing, task: request.spec?.task ?? .classification)
        return (fitted.rows, fitted.preprocessing)
    }

    /// The job: cross-validates every trial, refits the best on all rows and stores it.
    private func runSearch(
        _ model: String,
        trials: [Trial],
        dataset: Dataset,
        preprocessing: V1.Preprocessing?,
        folds: CrossValidationFolds,
        metric: TuningMetric,
        report: V1.TuneReport,
        workers: Int,
        progress: @escaping (V1.TrainProgress) -> Void,
        isCancelled: @escaping () -> Bool
    ) throws -> V1.TrainResult {
        let started = Date()
        let done = Locked(0)
        let publish = UncheckedSendable(progress)
        let cancelled = UncheckedSendable(isCancelled)
        let outcomes = try Tuning.crossValidate(
            trials: trials.count,
            dataset: dataset,
            folds: folds,
            metric: metric,
            workers: workers,
            fit: { trial, rows throws(TrainingError) in
                try Trainer.train(
                    spec: trials[trial].spec,
                    options: trials[trial].options,
                    dataset: rows,
                    isCancelled: cancelled.value
                )
            },
            trialFinished: { outcome in
                let count = done.increment()
                let elapsed = Date().timeIntervalSince(started)
                publish.value(
                    V1.TrainProgress(
                        epoch: UInt32(count),
                        epochs: UInt32(trials.count),
                        batch: UInt32(folds.count),
                        batches: UInt32(folds.count),
                        etaSeconds: Float(elapsed / Double(count) * Double(trials.count - count)),
                        epochEnd: true,
                        trial: Self.wire(outcome, trials[outcome.index])
                    )
                )
            },
            isCancelled: { cancelled.value() }
        )
        guard let best = Tuning.best(outcomes, greaterIsBetter: metric.greaterIsBetter) else {
            throw ModelwireError(.invalidArgument, "the grid has no trials")
        }
        var table = report
        let ranked = outcomes.sorted {
            metric.greaterIsBetter
                ? ($0.mean, -$0.index) > ($1.mean, -$1.index) : ($0.mean, $0.index) < ($1.mean, $1.index)
        }
        var rank = [Int](repeating: 0, count: outcomes.count)
        for (r, o) in ranked.enumerated() { rank[o.index] = r + 1 }
        table.trials = outcomes.map {
            var row = Self.wire($0, trials[$0.index])
            row.rank = UInt32(rank[$0.index])
            return row
        }
        table.best = UInt32(best)
        let winner = trials[best]
        let refit = try Trainer.train(
            spec: winner.spec,
            options: winner.options,
            dataset: dataset,
            isCancelled: isCancelled
        )
        let evaluation = try refit.evaluate(dataset).wire(rows: dataset.rows, classNames: refit.snapshot.classNames)
        var file = V1.ModelFile(
            snapshot: refit.snapshot,
            name: model,
            version: 0,
            createdUnixMs: 0,
            spec: winner.wireSpec,
            options: winner.wireOptions,
            evaluation: evaluation
        )
        file.tune = table
        file.preprocessing = preprocessing
        if isCancelled() { throw TrainingError(.cancelled, "the search was cancelled") }
        let entry = try repository.store(file, name: model)
        return V1.TrainResult(
            model: entry.name,
            version: entry.version,
            metrics: evaluation,
            epochsRun: UInt32(refit.snapshot.training.epochsRun),
            earlyStopped: refit.snapshot.training.earlyStopped,
            seed: winner.options.seed,
            durationSeconds: Float(Date().timeIntervalSince(started)),
            tune: table
        )
    }

    private static func wire(_ outcome: TrialOutcome, _ trial: Trial) -> V1.TuneTrial {
        V1.TuneTrial(
            index: UInt32(outcome.index),
            settings: trial.settings,
            foldScores: outcome.foldScores,
            mean: outcome.mean,
            std: outcome.std,
            seconds: Float(outcome.seconds)
        )
    }

    /// The grid's axes with their names in one spelling, every value checked against the family.
    private static func grid(
        _ parameters: [V1.TuneParameter],
        spec: V1.ModelSpec,
        options: V1.TrainingOptions
    ) throws(ModelwireError) -> ParameterGrid {
        var axes: [ParameterGrid.Axis] = []
        for p in parameters {
            for value in p.values {
                var s = spec
                var o = options
                try TuneParameters.apply(p.name, value, spec: &s, options: &o)
            }
            axes.append(ParameterGrid.Axis(name: TuneParameters.canonical(p.name), values: p.values))
        }
        do { return try ParameterGrid(axes) } catch { throw ModelwireError(.invalidArgument, error.message) }
    }

    private static func tuningMetric(_ metric: V1.TuneMetric, task: V1.Task) throws(ModelwireError) -> TuningMetric {
        let chosen: TuningMetric =
            switch metric {
            case .accuracy: .accuracy
            case .f1Macro: .f1Macro
            case .logLoss: .logLoss
            case .rmse: .rmse
            case .r2: .r2
            default: task == .regression ? .r2 : .accuracy
            }
        guard chosen.isClassification == (task != .regression) else {
            throw ModelwireError(
                .invalidArgument,
                "metric \(chosen.rawValue) does not fit task \(task == .regression ? "regression" : "classification")"
            )
        }
        return chosen
    }

    private static func wire(_ metric: TuningMetric) -> V1.TuneMetric {
        switch metric {
        case .accuracy: .accuracy
        case .f1Macro: .f1Macro
        case .logLoss: .logLoss
        case .rmse: .rmse
        case .r2: .r2
        }
    }
}

/// A counter behind a lock, shared by the search's worker threads.
private final class Locked: @unchecked Sendable {
    private var value: Int
    private let lock = NSLock()
    init(_ value: Int) { self.value = value }
    /// Adds one and returns the new count.
    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

/// The job's progress and cancellation callbacks, called from the search's worker threads
/// (JobManager's publish and stop checks lock their own state).
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
