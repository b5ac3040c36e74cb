import ModelwireCodec
import ModelwireProtocol

extension V1.TrainRequest {
    /// Refuses a request whose parts contradict each other, before a job exists, so that every
    /// client gets the same answer (issue 11 item 14): a regression task for a classifier-only
    /// family, a regression task on rows that carry class labels, numeric (regression) targets
    /// for a classifier-only family (issue 16), early stopping on validation accuracy without a
    /// validation split, and enum values the schema does not define.
    /// - Parameter rows: The inline rows, when the request carries them (stored datasets are
    ///   checked when the job reads them).
    /// - Throws: `ModelwireError` invalid_argument naming the fields that disagree.
    func checkConsistency(rows: V1.Dataset?) throws(ModelwireError) {
        try checkEnumValues()
        let task = spec?.task ?? .classification
        if task == .regression {
            switch spec?.family {
            case .logistic?, .linearSvm?:
                throw ModelwireError(
                    .invalidArgument,
                    "task regression does not fit family \(Self.familyName(spec?.family)): it classifies; "
                        + "use task classification, or family mlp, tree, forest or gbdt for regression"
                )
            default: break
            }
            if let rows, !rows.classNames.isEmpty {
                throw ModelwireError(
                    .invalidArgument,
                    "task regression, but the rows carry class labels (\(rows.classNames.count) classes): "
                        + "use task classification, or send numeric targets"
                )
            }
        }
        if task == .classification, let rows, rows.classNames.isEmpty, !rows.targets.isEmpty {
            switch spec?.family {
            case .logistic?, .linearSvm?:
                throw ModelwireError(
                    .invalidArgument,
                    "family \(Self.familyName(spec?.family)) classifies, but the rows carry numeric targets "
                        + "(a regression target), not class labels: send class labels, or use task regression "
                        + "with family mlp, tree, forest or gbdt"
                )
            default: break
            }
        }
        if let early = options?.earlyStopping, early.monitor == .validationAccuracy,
            (options?.validationSplit ?? 0) <= 0
        {
            throw ModelwireError(
                .invalidArgument,
                "early stopping on validation accuracy needs a validation split (validation_split > 0)"
            )
        }
    }

    private static func familyName(_ family: V1.ModelSpec.Family?) -> String {
        switch family {
        case .logistic?: "logistic"
        case .linearSvm?: "svm"
        default: "\(String(describing: family))"
        }
    }
}
