import Foundation
import ModelwireCodec
import ModelwireData
import ModelwireML
import ModelwireProtocol

/// Quantize, Prune and Distill (issue 14): each checks its request up front, then runs as a job
/// that makes a new version (never touching the source) and stores what it did with a before/after
/// report.
extension ModelService {
    /// Quantize: int8 weights (and activations) for a dense net or a linear model.
    func quantize(_ request: V1.QuantizeRequest, subscriber: @escaping JobManager.Subscriber) throws -> JobSubscription
    {
        let source = try repository.resolve(request.model)
        let snapshot = source.model.snapshot
        switch snapshot.parameters {
        case .dense, .linear: break
        case .quantizedDense, .quantizedLinear:
            throw ModelwireError(.invalidArgument, "model \(source.name) v\(source.version) is already quantized")
        case .tree, .forest, .gbdt:
            throw ModelwireError(
                .invalidArgument,
                "model \(source.name) v\(source.version) is a tree model: only dense nets and linear models "
                    + "(logistic regression, linear SVM) can be quantized"
            )
        }
        try request.activationScaling.requireKnown("activation_scaling", code: .invalidArgument)
        let target = request.targetModel.isEmpty ? source.name : request.targetModel
        try ResourceName.validate(target, "target_model")
        let calibration = try rows(request.calibrationData, for: source, field: "calibration_data", labelled: false)
        switch (request.activationScaling, calibration != nil) {
        case (.static, false):
            throw ModelwireError(.invalidArgument, "activation_scaling STATIC needs calibration_data")
        case (.dynamic, true):
            throw ModelwireError(
                .invalidArgument,
                "calibration_data was given with activation_scaling DYNAMIC, which does not use it"
            )
        default: break
        }
        let evaluation = try rows(request.evalData, for: source, field: "eval_data")
        let requested = request.activationScaling
        let settings: [(String, String)] = [
            ("activation_scaling", "\(requested == .static ? "static" : requested == .dynamic ? "dynamic" : "auto")"),
            ("calibration_rows", "\(calibration?.rows ?? 0)"),
        ]
        let work = JobWork(model: target) { [self] _, isCancelled in
            let dynamic = try Quantization.quantize(snapshot, calibration: nil)
            var chosen = dynamic
            var notes = ["weights int8 with one scale per output unit; biases and standardisation stay float"]
            if let calibration {
                let fixed = try Quantization.quantize(snapshot, calibration: calibration.features)
                if requested == .static {
                    chosen = fixed
                    notes.append("activations: static scales from \(calibration.rows) calibration rows (as requested)")
                } else {
                    let (judge, on) = evaluation.map { ($0, "evaluation") } ?? (calibration, "calibration")
                    let staticScore = try Self.score(try TrainedModel(snapshot: fixed), on: judge)
                    let dynamicScore = try Self.score(try TrainedModel(snapshot: dynamic), on: judge)
                    let wins = staticScore.value > dynamicScore.value
                    if wins { chosen = fixed }
                    notes.append(
                        "activations: \(wins ? "static" : "dynamic (per row)") kept: on the \(judge.rows) \(on) rows "
                            + "static scales score \(staticScore.text) against dynamic's \(dynamicScore.text)"
                    )
                }
            } else {
                notes.append("activations: dynamic, scaled per row at predict time")
            }
            return try storeTransform(
                try TrainedModel(snapshot: chosen),
                of: source,
                as: target,
                kind: "quantize",
                settings: settings,
                spec: source.metadata.spec,
                evaluation: evaluation,
                notes: notes,
                isCancelled: isCancelled
            )
        }
        let (job, id) = try jobs.submit(work, subscriber: subscriber)
        return JobSubscription(job: job, id: id)
    }

    /// How well a model does on labelled rows, higher is better: accuracy (log loss breaks a tie)
    /// for a classifier, −MSE for a regressor; and the same as words.
    private static func score(_ model: TrainedModel, on rows: Dataset) throws -> (value: Double, text: String) {
        switch try model.evaluate(rows) {
        case .classification(let m):
            let logLoss = m.logLoss.map { " (log loss \(Self.rounded($0)))" } ?? ""
            return (m.accuracy - (m.logLoss ?? 0) * 1e-9, "accuracy \(Self.rounded(m.accuracy))\(logLoss)")
        case .regression(let m):
            return (-m.meanSquaredError, "MSE \(Self.rounded(m.meanSquaredError))")
        }
    }

    private static func rounded(_ value: Double) -> String { String(format: "%.4f", value) }

    /// Prune: magnitude pruning of a dense net, optionally fine-tuned.
    func prune(_ request: V1.PruneRequest, subscriber: @escaping JobManager.Subscriber) throws -> JobSubscription {
        let source = try repository.resolve(request.model)
        guard case .dense(let parameters) = source.model.snapshot.parameters else {
            throw ModelwireError(
                .invalidArgument,
                "model \(source.name) v\(source.version) is not a dense net: only dense nets can be pruned"
            )
        }
        guard request.sparsity > 0, request.sparsity < 1 else {
            throw ModelwireError(.invalidArgument, "sparsity must be in (0, 1), got \(request.sparsity)")
        }
        if request.structured, parameters.layers.count < 2 {
            throw ModelwireError(.invalidArgument, "structured pruning needs a hidden layer; this net has none")
        }
        let target = request.targetModel.isEmpty ? source.name : request.targetModel
        try ResourceName.validate(target, "target_model")
        let fineTune = try rows(request.fineTuneData, for: source, field: "fine_tune_data")
        switch (request.fineTuneEpochs > 0, fineTune != nil) {
        case (true, false): throw ModelwireError(.invalidArgument, "fine_tune_epochs needs fine_tune_data")
        case (false, true): throw ModelwireError(.invalidArgument, "fine_tune_data was given without fine_tune_epochs")
        default: break
        }
        guard Int(request.fineTuneEpochs) <= configuration.trainingCaps.maxEpochs else {
            throw ModelwireError(
                .resourceExhausted,
                "fine_tune_epochs \(request.fineTuneEpochs) is over this server's cap of "
                    + "\(configuration.trainingCaps.maxEpochs) (--max-train-epochs)"
            )
        }
        var fineTuneOptions = try TrainingOptions(wire: request.fineTuneOptions, defaultSeed: 1)
        fineTuneOptions.epochs = Int(request.fineTuneEpochs)
        let options = fineTuneOptions
        let evaluation = try rows(request.evalData, for: source, field: "eval_data")
        let settings: [(String, String)] = [
            ("sparsity", "\(request.sparsity)"), ("structured", "\(request.structured)"),
            ("fine_tune_epochs", "\(request.fineTuneEpochs)"),
        ]
        let work = JobWork(model: target) { [self] progress, isCancelled in
            var snapshot = source.model.snapshot
            let sparsity = Double(request.sparsity)
            let pruned =
                request.structured
                ? try Pruning.structured(parameters, sparsity: sparsity)
                : try Pruning.magnitude(parameters, sparsity: sparsity)
            snapshot.parameters = .dense(pruned)
            var notes = [
                request.structured
                    ? "hidden widths \(parameters.layers.dropLast().map(\.units)) -> \(pruned.layers.dropLast().map(\.units))"
                    : "\(Int((sparsity * 100).rounded())) % of the weights set to zero (global magnitude)"
            ]
            var model = try TrainedModel(snapshot: snapshot)
            if let fineTune {
                model = try Trainer.fineTune(
                    snapshot,
                    dataset: fineTune,
                    options: options,
                    holdZeros: !request.structured,
                    progress: { progress(V1.TrainProgress($0)) },
                    isCancelled: isCancelled
                )
                notes.append(
                    "fine-tuned for \(options.epochs) epochs"
                        + (request.structured ? "" : ", pruned weights held at zero")
                )
            }
            var spec = source.metadata.spec
            if request.structured, case .dense(var dense)? = spec?.family {
                for (l, layer) in pruned.layers.dropLast().enumerated() where l < dense.hidden.count {
                    dense.hidden[l].units = UInt32(layer.units)
                }
                spec?.family = .dense(dense)
            }
            return try storeTransform(
                model,
                of: source,
                as: target,
                kind: "prune",
                settings: settings,
                spec: spec,
                evaluation: evaluation,
                notes: notes,
                isCancelled: isCancelled
            )
        }
        let (job, id) = try jobs.submit(work, subscriber: subscriber)
        return JobSubscription(job: job, id: id)
    }

    /// Distill: trains a dense student on a teacher's softened probabilities and the labels.
    func distill(_ request: V1.DistillRequest, subscriber: @escaping JobManager.Subscriber) throws -> JobSubscription {
        let teacher = try repository.resolve(request.teacher)
        guard teacher.model.snapshot.task == .classification else {
            throw ModelwireError(
                .invalidArgument,
                "teacher \(teacher.name) v\(teacher.version) is a regression model: only classifiers can be distilled"
            )
        }
        let temperature = request.temperature == 0 ? Distillation.defaultTemperature : request.temperature
        guard temperature > 0, temperature.isFinite else {
            throw ModelwireError(.invalidArgument, "temperature must be > 0, got \(request.temperature)")
        }
        let alpha = request.alpha ?? Distillation.defaultAlpha
        guard alpha >= 0, alpha <= 1 else {
            throw ModelwireError(.invalidArgument, "alpha must be in [0, 1], got \(alpha)")
        }
        try ResourceName.validate(request.model, "model")
        // The student's training is a Train in all but its loss: the same checks and caps.
        let asTrain = V1.TrainRequest(
            model: request.model,
            data: request.data.map { data in
                switch data.source {
                case .inlineData(let rows)?: .inlineData(rows)
                case .dataset(let name)?: .dataset(name)
                case .table(let table)?: .table(table)
                case nil: .inlineData(V1.Dataset())
                }
            },
            spec: V1.ModelSpec(family: .dense(request.student ?? V1.DenseNetSpec())),
            options: request.options
        )
        guard case .dense(let student) = try ModelSpec(wire: asTrain.spec) else {
            preconditionFailure("a dense spec maps to a dense spec")
        }
        guard let data = try rows(request.data, for: teacher, field: "data") else {
            throw ModelwireError(.invalidArgument, "the request has no training rows (data)")
        }
        try asTrain.checkResourceCaps(
            configuration.trainingCaps,
            shape: TrainingShape(
                rows: data.rows,
                features: data.columns,
                outputs: teacher.model.snapshot.classNames.count
            )
        )
        let options = try TrainingOptions(wire: request.options, defaultSeed: UInt64.random(in: 0...UInt64(UInt32.max)))
        let evaluation = try rows(request.evalData, for: teacher, field: "eval_data")
        let settings: [(String, String)] = [
            ("temperature", "\(temperature)"), ("alpha", "\(alpha)"),
            ("student_hidden", student.hiddenLayers.map { "\($0.units)" }.joined(separator: ",")),
            ("epochs", "\(options.epochs)"), ("seed", "\(options.seed)"),
        ]
        let work = JobWork(model: request.model) { [self] progress, isCancelled in
            let model = try Trainer.distill(
                teacher: teacher.model,
                student: student,
                options: options,
                dataset: data,
                temperature: temperature,
                alpha: alpha,
                progress: { progress(V1.TrainProgress($0)) },
                isCancelled: isCancelled
            )
            return try storeTransform(
                model,
                of: teacher,
                as: request.model,
                kind: "distill",
                settings: settings,
                spec: asTrain.spec,
                evaluation: evaluation,
                notes: [
                    "student trained on the teacher's probabilities at T = \(temperature) (weight \(alpha)) and the labels"
                ],
                isCancelled: isCancelled
            )
        }
        let (job, id) = try jobs.submit(work, subscriber: subscriber)
        return JobSubscription(job: job, id: id)
    }

    /// A transform's rows, by the source model's feature names; nil when not given. Rows that are
    /// not `labelled` (calibration) may come without labels: they get placeholder targets nothing reads.
    private func rows(
        _ data: V1.TransformData?,
        for model: ModelRepository.Entry,
        field: String,
        labelled: Bool = true
    ) throws -> Dataset? {
        guard let source = data?.source else { return nil }
        let rowSource: RowSource =
            switch source {
            case .inlineData(let rows): .inline(rows)
            case .dataset(let name): .dataset(name)
            case .table(let table): .table(table)
            }
        if labelled, case .table(let table) = source, table.labelColumn.isEmpty {
            throw ModelwireError(
                .invalidArgument,
                "\(field): label_column is empty: name the column holding the labels"
            )
        }
        var wire = try modelRows(rowSource, for: model)
        if !labelled, wire.classIds.isEmpty, wire.targets.isEmpty, let features = wire.features, features.columns > 0 {
            wire.classNames = []
            wire.targets = [Float](repeating: 0, count: features.values.count / Int(features.columns))
        }
        let aligned = try wire.aligned(
            toFeatureNames: model.model.snapshot.featureNames,
            model: "model \(model.name) v\(model.version)"
        )
        let dataset: Dataset
        do { dataset = try Dataset(wire: aligned, requireTwoClasses: false) } catch {
            throw ModelwireError(.invalidArgument, "\(field): \(error.message)", cause: error)
        }
        guard dataset.rows > 0 else { throw ModelwireError(.invalidArgument, "\(field) has no rows") }
        return dataset
    }

    /// Measures the result against its source, stores it as the next version of `name` with the
    /// record of what was done, and answers the job's result.
    private func storeTransform(
        _ model: TrainedModel,
        of source: ModelRepository.Entry,
        as name: String,
        kind: String,
        settings: [(String, String)],
        spec: V1.ModelSpec?,
        evaluation: Dataset?,
        notes: [String],
        isCancelled: () -> Bool
    ) throws -> V1.TrainResult {
        var file = V1.ModelFile(
            snapshot: model.snapshot,
            name: name,
            version: 0,
            createdUnixMs: 0,
            spec: spec,
            options: nil,
            evaluation: nil
        )
        file.preprocessing = source.metadata.preprocessing  // the same raw columns in, the same features
        var notes = notes
        if case .dense(let p)? = file.parameters {
            func list(_ layers: [Int]) -> String {
                layers.isEmpty ? "none" : layers.map(String.init).joined(separator: ", ")
            }
            let stored = p.layers.indices.filter { p.layers[$0].sparseWeights != nil }
            notes.append(
                "layers stored sparsely: \(list(stored)) of \(p.layers.count); "
                    + "predicted by the sparse kernel: \(list(model.sparseKernelLayers))"
            )
        }
        var report = try V1.TransformReport(
            source: source,
            result: model,
            resultParameters: file.parameterCount,
            evaluationRows: evaluation,
            notes: notes,
            isCancelled: isCancelled
        )
        file.transform = V1.TransformRecord(
            kind: kind,
            sourceModel: source.name,
            sourceVersion: source.version,
            settings: settings.map { V1.TransformSetting(name: $0.0, value: $0.1) },
            report: report
        )
        let entry = try repository.store(file, name: name)
        report.result?.version = entry.version
        report.result?.fileBytes = entry.fileBytes
        let training = model.snapshot.training
        return V1.TrainResult(
            model: entry.name,
            version: entry.version,
            metrics: report.result?.evaluation,
            epochsRun: UInt32(training.epochsRun),
            earlyStopped: training.earlyStopped,
            durationSeconds: Float(training.durationSeconds),
            report: report
        )
    }
}
