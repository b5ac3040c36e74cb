import ModelwireData

/// The one entry point for training: spec + options + dataset → `TrainedModel`.
public enum Trainer {
    /// Trains a model. Deterministic for a given `options.seed`.
    ///
    /// Steps: hold out `options.validationSplit` of the rows (a seeded shuffle, stratified by class
    /// for classification); fit the standardisation on the remaining training rows only (not for
    /// tree families); build and fit the model; package everything in a snapshot.
    /// - Parameters:
    ///   - spec: The model family and hyper-parameters.
    ///   - options: Optimisation settings.
    ///   - dataset: Raw (unstandardised) data.
    ///   - progress: Called on this thread per epoch and every `options.progressEveryBatches` batches;
    ///     the epoch-end reports are also kept in the summary's `history` (`TrainingHistory`).
    ///   - isCancelled: Checked between batches; returning true throws `TrainingError.cancelled`.
    /// - Returns: The trained model.
    /// - Throws: `TrainingError`.
    public static func train(
        spec: ModelSpec,
        options: TrainingOptions = .defaults,
        dataset: Dataset,
        progress: @escaping (TrainingProgress) -> Void = { _ in },
        isCancelled: @escaping () -> Bool = { false }
    ) throws(TrainingError) -> TrainedModel {
        try train(
            spec: spec,
            options: options,
            dataset: dataset,
            progress: progress,
            isCancelled: isCancelled,
            soft: nil
        )
    }

    /// `train`, with a teacher's softened probabilities per row of `dataset` for a dense net to
    /// learn from too (`distill`).
    static func train(
        spec: ModelSpec,
        options: TrainingOptions,
        dataset: Dataset,
        progress: @escaping (TrainingProgress) -> Void,
        isCancelled: @escaping () -> Bool,
        soft: SoftTargets?
    ) throws(TrainingError) -> TrainedModel {
        let task: ModelSnapshot.Task = dataset.classNames.isEmpty ? .regression : .classification
        let classes = dataset.classNames.count
        guard dataset.rows > 0, dataset.columns > 0 else {
            throw TrainingError(.invalidArgument, "the dataset is empty")
        }
        guard options.validationSplit >= 0, options.validationSplit < 1 else {
            throw TrainingError(.invalidArgument, "validationSplit must be in [0, 1)")
        }
        var training = dataset
        var validation: Dataset?
        var soft = soft
        if options.validationSplit > 0 {
            let (fit, held) = dataset.stratifiedHoldOut(fraction: options.validationSplit, seed: options.seed &+ 2)
            guard !held.isEmpty, !fit.isEmpty else {
                throw TrainingError(.invalidArgument, "validationSplit leaves no validation or no training rows")
            }
            training = dataset.subset(fit)
            validation = dataset.subset(held)
            if let all = soft?.probabilities {
                let width = all.count / dataset.rows
                soft?.probabilities = fit.flatMap { all[($0 * width)..<(($0 + 1) * width)] }
            }
        }
        var model: any Model
        var generator = SeededGenerator(seed: options.seed)
        var standardization: Standardization?
        switch spec {
        case .dense(let dense):
            model = try DenseNetModel(
                spec: dense,
                inputs: dataset.columns,
                task: task,
                classes: classes,
                generator: &generator
            )
        case .logistic(let linear), .svm(let linear):
            guard task == .classification else {
                throw TrainingError(
                    .invalidArgument,
                    "the targets are numeric (regression), but logistic regression and SVMs need class labels"
                )
            }
            let kind: LinearParameters.Kind = if case .svm = spec { .svm } else { .logistic }
            model = try LinearModel(
                kind: kind,
                spec: linear,
                inputs: dataset.columns,
                classes: classes,
                rows: training.rows
            )
        case .tree(let tree):
            model = try DecisionTree(spec: tree, task: task, classes: classes)
        case .forest(let forest):
            model = try RandomForest(spec: forest, task: task, classes: classes)
        case .gbdt(let gbdt):
            model = try GradientBoosting(spec: gbdt, task: task, classes: classes)
        }
        if var dense = model as? DenseNetModel, let soft {
            dense.soft = soft
            model = dense
        }
        // The raw training means are kept for every family (Explain's baseline, `featureMeans`).
        let fitted = Standardization(fitting: training.features, columns: training.columns)
        if options.standardize, !(model is DecisionTree || model is RandomForest || model is GradientBoosting) {
            training.features = fitted.apply(training.features)
            if let held = validation { validation?.features = fitted.apply(held.features) }
            standardization = fitted
        }
        let summary = try model.fitKeepingHistory(
            training,
            validation: validation,
            options: options,
            callbacks: TrainingCallbacks(progress: progress, isCancelled: isCancelled)
        )
        let snapshot = ModelSnapshot(
            task: task,
            featureNames: dataset.featureNames,
            classNames: dataset.classNames,
            standardization: standardization,
            parameters: model.parameters,
            training: summary,
            featureMeans: fitted.mean
        )
        do {
            return try TrainedModel(snapshot: snapshot)
        } catch {
            preconditionFailure("a freshly trained model's snapshot is invalid: \(error)")
        }
    }
}
