import ModelwireCodec
import ModelwireML

extension TrainedModel.Evaluation {
    /// The wire form of an evaluation over `rows` rows, with class labels from `classNames`.
    func wire(rows: Int, classNames: [String]) -> V1.Evaluation {
        switch self {
        case .classification(let m):
            let perClass = zip(classNames, m.perClass).map { name, s in
                V1.ClassMetrics(
                    label: name,
                    precision: Float(s.precision),
                    recall: Float(s.recall),
                    f1: Float(s.f1),
                    support: UInt64(s.support)
                )
            }
            func average(_ a: ClassificationMetrics.Average) -> V1.ClassMetrics {
                V1.ClassMetrics(
                    precision: Float(a.precision),
                    recall: Float(a.recall),
                    f1: Float(a.f1),
                    support: UInt64(rows)
                )
            }
            let confusion = V1.ConfusionMatrix(
                classes: UInt32(classNames.count),
                counts: m.confusionMatrix.flatMap { $0.map { UInt64($0) } }
            )
            return V1.Evaluation(
                rows: UInt64(rows),
                kind: .classification(
                    V1.ClassificationMetrics(
                        accuracy: Float(m.accuracy),
                        logLoss: m.logLoss.map { Float($0) },
                        perClass: perClass,
                        macro: average(m.macro),
                        micro: average(m.micro),
                        weighted: average(m.weighted),
                        confusion: confusion,
                        rocAucMacro: m.ranking.map { Float($0.rocAucMacro) },
                        rocAucWeighted: m.ranking.map { Float($0.rocAucWeighted) },
                        averagePrecision: m.ranking.map { Float($0.averagePrecision) }
                    )
                )
            )
        case .regression(let m):
            return V1.Evaluation(
                rows: UInt64(rows),
                kind: .regression(
                    V1.RegressionMetrics(
                        mse: Float(m.meanSquaredError),
                        mae: Float(m.meanAbsoluteError),
                        r2: Float(m.r2)
                    )
                )
            )
        }
    }
}
