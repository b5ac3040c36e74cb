import ModelwireCodec
import ModelwireProtocol

extension V1.TrainRequest {
    /// Refuses enum values this schema does not define (PROTOCOL.md §5): a number from a newer
    /// client would otherwise fall back to a default and train something else than was asked.
    /// - Throws: `ModelwireError` invalid_argument naming the field, the value and the known values.
    func checkEnumValues() throws(ModelwireError) {
        if let spec {
            try spec.task.requireKnown("spec.task", code: .invalidArgument)
            switch spec.family {
            case .dense(let dense)?:
                for (index, layer) in dense.hidden.enumerated() {
                    try layer.activation.requireKnown("spec.dense.hidden[\(index)].activation", code: .invalidArgument)
                }
                try dense.outputActivation.requireKnown("spec.dense.output_activation", code: .invalidArgument)
            case .logistic(let linear)?: try linear.solver.requireKnown("spec.logistic.solver", code: .invalidArgument)
            case .linearSvm(let linear)?:
                try linear.solver.requireKnown("spec.linear_svm.solver", code: .invalidArgument)
            case .tree(let tree)?: try tree.criterion.requireKnown("spec.tree.criterion", code: .invalidArgument)
            case .forest(let forest)?:
                try (forest.tree?.criterion ?? .gini).requireKnown("spec.forest.tree.criterion", code: .invalidArgument)
            case .gbdt(let gbdt)?:
                try gbdt.earlyStopping.requireKnown("spec.gbdt.early_stopping", code: .invalidArgument)
            case nil: break
            }
        }
        try (options?.optimizer?.kind ?? .adam).requireKnown("options.optimizer.kind", code: .invalidArgument)
        try (options?.earlyStopping?.monitor ?? .validationLoss).requireKnown(
            "options.early_stopping.monitor",
            code: .invalidArgument
        )
    }
}
