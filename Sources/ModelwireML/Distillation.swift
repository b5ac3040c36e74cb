import Foundation
import ModelwireData

/// A teacher's probabilities softened by a temperature, one row per training row, for
/// distillation (Hinton et al. 2015).
struct SoftTargets {
    /// rows × classes: softmax(teacher logits / T), computed from the teacher's probabilities as
    /// p^(1/T) renormalised (the same thing, since p = softmax(z)).
    var probabilities: [Float]
    var temperature: Float
    /// The weight of the teacher's term; the labels' cross-entropy gets 1 − alpha.
    var alpha: Float
}

/// Knowledge distillation's loss: alpha · T² · KL(teacher_T ‖ student_T) + (1 − alpha) · CE(student, y).
public enum Distillation {
    /// The default temperature, as in the issue's example and Hinton et al.'s experiments.
    public static let defaultTemperature: Float = 4
    /// The default weight of the teacher's term.
    public static let defaultAlpha: Float = 0.5

    /// softmax(log p / T) of each row of `p` (rows × classes), in place.
    static func soften(_ p: inout [Float], classes: Int, temperature: Float) {
        p.withUnsafeMutableBufferPointer { buffer in
            for r in 0..<(buffer.count / classes) {
                soften(buffer.baseAddress! + r * classes, classes: classes, temperature: temperature)
            }
        }
    }

    private static func soften(_ row: UnsafeMutablePointer<Float>, classes: Int, temperature: Float) {
        var largest = -Float.infinity
        for k in 0..<classes {
            row[k] = log(max(row[k], Float.leastNormalMagnitude)) / temperature
            largest = max(largest, row[k])
        }
        var sum: Float = 0
        for k in 0..<classes {
            row[k] = exp(row[k] - largest)
            sum += row[k]
        }
        for k in 0..<classes { row[k] /= sum }
    }

    /// Writes ∂loss/∂logits of a softmax output into `delta` and returns the batch's mean loss.
    /// - Parameters:
    ///   - output: The student's probabilities, rows × classes.
    ///   - labels: One class id (as Float) per row.
    ///   - teacher: The teacher's softened probabilities, rows × classes.
    ///   - crossEntropy: The batch's mean cross-entropy against the labels (already computed).
    static func fusedDelta(
        _ output: UnsafePointer<Float>,
        labels: UnsafePointer<Float>,
        teacher: UnsafePointer<Float>,
        rows: Int,
        classes: Int,
        temperature t: Float,
        alpha a: Float,
        crossEntropy: Float,
        into delta: UnsafeMutablePointer<Float>
    ) -> Float {
        let scale = 1 / Float(rows)
        var student = [Float](repeating: 0, count: classes)
        var divergence: Double = 0
        for r in 0..<rows {
            let p = output + r * classes
            let q = teacher + r * classes
            for k in 0..<classes { student[k] = p[k] }
            student.withUnsafeMutableBufferPointer { soften($0.baseAddress!, classes: classes, temperature: t) }
            let y = Int(labels[r])
            for k in 0..<classes {
                // ∂(T² KL)/∂z = T (q_s − q_t); ∂CE/∂z = p − onehot(y).
                let hard = p[k] - (k == y ? 1 : 0)
                delta[r * classes + k] = scale * (a * t * (student[k] - q[k]) + (1 - a) * hard)
                if q[k] > 0 {
                    divergence += Double(q[k]) * Double(log(q[k]) - log(max(student[k], Float.leastNormalMagnitude)))
                }
            }
        }
        return (1 - a) * crossEntropy + a * t * t * Float(divergence) * scale
    }
}

extension Trainer {
    /// Trains a dense `student` on `dataset` from `teacher`'s softened probabilities and the
    /// labels. The student takes the teacher's class order and feature names; the rows' labels
    /// must be among the teacher's classes.
    /// - Parameters:
    ///   - temperature: T > 0.
    ///   - alpha: The teacher term's weight, in [0, 1] (0 = labels only).
    /// - Throws: `TrainingError.invalidArgument` for a teacher without probabilities, a regression
    ///   dataset, labels the teacher does not know, a feature count that differs, or bad T / alpha.
    public static func distill(
        teacher: TrainedModel,
        student: DenseNetSpec,
        options: TrainingOptions = .defaults,
        dataset: Dataset,
        temperature: Float = Distillation.defaultTemperature,
        alpha: Float = Distillation.defaultAlpha,
        progress: @escaping (TrainingProgress) -> Void = { _ in },
        isCancelled: @escaping () -> Bool = { false }
    ) throws(TrainingError) -> TrainedModel {
        guard temperature > 0, temperature.isFinite else {
            throw TrainingError(.invalidArgument, "temperature must be > 0, got \(temperature)")
        }
        guard alpha >= 0, alpha <= 1 else {
            throw TrainingError(.invalidArgument, "alpha must be in [0, 1], got \(alpha)")
        }
        let classes = teacher.snapshot.classNames
        guard teacher.snapshot.task == .classification, !classes.isEmpty else {
            throw TrainingError(.invalidArgument, "the teacher is a regression model: distillation needs a classifier")
        }
        guard let taught = teacher.predictProbabilities(dataset.features) else {
            throw TrainingError(
                .invalidArgument,
                "the teacher gives decision scores, not probabilities (a linear SVM): it cannot be distilled"
            )
        }
        let rows = try dataset.inClassOrder(classes, of: "the teacher")
        var probabilities = taught.values
        Distillation.soften(&probabilities, classes: classes.count, temperature: temperature)
        return try train(
            spec: .dense(student),
            options: options,
            dataset: rows,
            progress: progress,
            isCancelled: isCancelled,
            soft: SoftTargets(probabilities: probabilities, temperature: temperature, alpha: alpha)
        )
    }

    /// Trains a dense net further from `snapshot`'s parameters on `dataset` (standardised with
    /// the snapshot's own standardisation), for fine-tuning after pruning.
    /// - Parameter holdZeros: Keep every weight that is zero now at zero (unstructured pruning's mask).
    /// - Throws: `TrainingError.invalidArgument` for a snapshot that is not a dense net, or rows
    ///   that do not fit it (feature count, classes, task).
    public static func fineTune(
        _ snapshot: ModelSnapshot,
        dataset: Dataset,
        options: TrainingOptions,
        holdZeros: Bool,
        progress: @escaping (TrainingProgress) -> Void = { _ in },
        isCancelled: @escaping () -> Bool = { false }
    ) throws(TrainingError) -> TrainedModel {
        guard case .dense(let parameters) = snapshot.parameters else {
            throw TrainingError(.invalidArgument, "only dense nets can be fine-tuned")
        }
        guard dataset.columns == parameters.layers[0].inputs else {
            throw TrainingError(
                .invalidArgument,
                "the model expects \(parameters.layers[0].inputs) features, got \(dataset.columns)"
            )
        }
        var rows = dataset
        switch snapshot.task {
        case .classification: rows = try dataset.inClassOrder(snapshot.classNames, of: "the model")
        case .regression:
            guard dataset.classNames.isEmpty else {
                throw TrainingError(.invalidArgument, "the model is a regression model; the rows have class labels")
            }
        }
        var training = rows
        var validation: Dataset?
        if options.validationSplit > 0 {
            let (fit, held) = rows.stratifiedHoldOut(fraction: options.validationSplit, seed: options.seed &+ 2)
            training = rows.subset(fit)
            validation = rows.subset(held)
        }
        if let standardization = snapshot.standardization {
            training.features = standardization.apply(training.features)
            if let held = validation { validation?.features = standardization.apply(held.features) }
        }
        var model = DenseNetModel(parameters: parameters)
        if holdZeros {
            let network = model.network
            model.heldAtZero = network.layers.flatMap { layer in
                (layer.weightOffset..<layer.biasOffset).filter { network.parameters[$0] == 0 }
            }
        }
        let summary = try model.fitKeepingHistory(
            training,
            validation: validation,
            options: options,
            callbacks: TrainingCallbacks(progress: progress, isCancelled: isCancelled)
        )
        var tuned = snapshot
        tuned.parameters = model.parameters
        tuned.training = summary
        do { return try TrainedModel(snapshot: tuned) } catch {
            preconditionFailure("a fine-tuned model's snapshot is invalid: \(error)")
        }
    }
}

extension Dataset {
    /// The rows with their class ids renumbered to `classes`' order (the labels must all be there).
    func inClassOrder(_ classes: [String], of owner: String) throws(TrainingError) -> Dataset {
        guard case .classes(let names, let ids) = self.targets else {
            throw TrainingError(.invalidArgument, "the rows have numeric targets; \(owner) is a classifier")
        }
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        let unknown = names.filter { index[$0] == nil }
        guard unknown.isEmpty else {
            throw TrainingError(
                .invalidArgument,
                "labels \(unknown.prefix(5).map { "\"\($0)\"" }.joined(separator: ", ")) are not among \(owner)'s classes"
            )
        }
        let renumbered = names.map { index[$0]! }
        return Dataset(
            featureNames: self.featureNames,
            features: self.features,
            targets: .classes(names: classes, ids: ids.map { renumbered[$0] })
        )
    }
}
