import ModelwireCodec
import ModelwireProtocol

extension V1.TrainRequest {
    /// Refuses enum values this schema does not define (PROTOCOL.md §5): a number from a newer
    /// client would otherwise fall back to a default and train something else than was asked.
    /// - Throws: `ModelwireError` invalid_argument naming the field, the value and the known values.
    func checkEnumValues() throws(ModelwireError) {
        if let spec {
            try Self.check(spec.task, "spec.task")
            switch spec.family {
            case .dense(let dense)?:
                for (index, layer) in dense.hidden.enumerated() {
                    try Self.check(layer.activation, "spec.dense.hidden[\(index)].activation")
                }
                try Self.check(dense.outputActivation, "spec.dense.output_activation")
            case .logistic(let linear)?: try Self.check(linear.solver, "spec.logistic.solver")
            case .linearSvm(let linear)?: try Self.check(linear.solver, "spec.linear_svm.solver")
            case .tree(let tree)?: try Self.check(tree.criterion, "spec.tree.criterion")
            case .forest(let forest)?: try Self.check(forest.tree?.criterion ?? .gini, "spec.forest.tree.criterion")
            case .gbdt(let gbdt)?: try Self.check(gbdt.earlyStopping, "spec.gbdt.early_stopping")
            case nil: break
            }
        }
        try Self.check(options?.optimizer?.kind ?? .adam, "options.optimizer.kind")
        try Self.check(options?.earlyStopping?.monitor ?? .validationLoss, "options.early_stopping.monitor")
    }

    private static func check<E: GeneratedEnum>(_ value: E, _ field: String) throws(ModelwireError) {
        guard !value.isKnown else { return }
        throw ModelwireError(
            .invalidArgument,
            "\(field): unknown value \(value.rawValue) (this server knows "
                + E.allKnown.map { "\($0.rawValue) \($0)" }.joined(separator: ", ") + ")"
        )
    }
}

/// The generated enum structs, for `checkEnumValues`.
protocol GeneratedEnum: RawRepresentable<Int32>, CustomStringConvertible, Equatable {
    static var allKnown: [Self] { get }
    var isKnown: Bool { get }
}

extension V1.Task: GeneratedEnum {}
extension V1.Activation: GeneratedEnum {}
extension V1.LinearSolver: GeneratedEnum {}
extension V1.TreeCriterion: GeneratedEnum {}
extension V1.BoostingEarlyStopping: GeneratedEnum {}
extension V1.OptimizerKind: GeneratedEnum {}
extension V1.Monitor: GeneratedEnum {}
