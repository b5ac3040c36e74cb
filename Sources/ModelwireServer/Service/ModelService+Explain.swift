import ModelwireCodec
import ModelwireData
import ModelwireML
import ModelwireProtocol

extension ModelService {
    /// Most rows one Explain answers (each costs up to `steps + 1` forward and backward passes).
    static let maxExplainRows = 1024

    /// Explain: per-row feature attributions of a model version on inline rows or a stored dataset.
    func explain(_ request: V1.ExplainRequest, _ call: CallContext) throws -> V1.ExplainResponse {
        let entry = try repository.resolve(request.model)
        let snapshot = entry.model.snapshot
        let label = "model \(entry.name) v\(entry.version)"
        let source: RowSource? =
            switch request.data {
            case .inlineData(let d)?: .inline(d)
            case .dataset(let name)?: .dataset(name)
            case .table(let t)?: .table(t)
            case nil: nil
            }
        let wire = try modelRows(source, for: entry)
        let aligned = try wire.aligned(toFeatureNames: snapshot.featureNames, model: label)
        let columns = snapshot.featureNames.count
        let values = aligned.features?.values ?? []
        guard aligned.features.map({ Int($0.columns) }) == columns, values.count % columns == 0 else {
            throw ModelwireError(
                .invalidArgument,
                "data: \(label) takes \(columns) features per row, these rows have \(aligned.features?.columns ?? 0)"
            )
        }
        let available = values.count / columns
        let indices = request.rows.isEmpty ? Array(0..<available) : request.rows.map(Int.init)
        guard indices.count <= Self.maxExplainRows else {
            throw ModelwireError(
                .invalidArgument,
                "rows: \(indices.count) rows to explain exceed the limit of \(Self.maxExplainRows) per call"
            )
        }
        guard !indices.isEmpty else { throw ModelwireError(.invalidArgument, "rows: there are no rows to explain") }
        if let bad = indices.first(where: { $0 >= available }) {
            throw ModelwireError(
                .invalidArgument,
                "rows: row index \(bad) is out of range (the data has \(available) rows)"
            )
        }
        var selected = [Float]()
        selected.reserveCapacity(indices.count * columns)
        for r in indices { selected.append(contentsOf: values[r * columns..<(r + 1) * columns]) }
        if let bad = Self.firstNonFinite(selected) {
            throw ModelwireError(
                .invalidArgument,
                "rows: row \(indices[bad / columns]), feature \(bad % columns + 1) is NaN or infinite"
            )
        }
        let method = try Self.explanationMethod(request.method)
        let target = try Self.targetClass(request.targetClass, snapshot)
        let steps = request.steps == 0 ? TrainedModel.defaultExplanationSteps : Int(request.steps)
        try call.checkActive()
        let explanation: Explanation
        do {
            explanation = try entry.model.explain(selected, method: method, targetClass: target, steps: steps)
        } catch {
            throw ModelwireError(.invalidArgument, "\(label): \(error.message)", cause: error)
        }
        // A model with preprocessing is explained per raw column: its encoded features summed.
        let groups = entry.preprocessor?.featureGroups
        return V1.ExplainResponse(
            model: entry.name,
            version: entry.version,
            method: Self.wire(explanation.method),
            output: explanation.output,
            featureNames: entry.preprocessor?.columns.map(\.name) ?? snapshot.featureNames,
            baseline: explanation.baseline,
            explanations: zip(indices, explanation.rows).map { row, e in
                V1.RowExplanation(
                    row: UInt32(row),
                    explainedClass: e.classId.map { snapshot.classNames[$0] } ?? "",
                    attributions: groups.map { $0.map { e.attributions[$0].reduce(0, +) } } ?? e.attributions,
                    value: e.value,
                    baselineValue: e.baselineValue,
                    completenessError: e.completenessError,
                    steps: UInt32(e.steps ?? 0)
                )
            },
            encodedFeatureNames: entry.preprocessor == nil ? [] : snapshot.featureNames
        )
    }

    private static func explanationMethod(_ method: V1.ExplainMethod) throws(ModelwireError) -> ExplanationMethod? {
        switch method {
        case .auto: nil
        case .integratedGradients: .integratedGradients
        case .linear: .linear
        case .treeShap: .treeShap
        default:
            throw ModelwireError(
                .invalidArgument,
                "method: unknown value \(method.rawValue) (this server knows 0 auto, 1 integrated gradients, "
                    + "2 linear, 3 tree shap)"
            )
        }
    }

    private static func wire(_ method: ExplanationMethod) -> V1.ExplainMethod {
        switch method {
        case .integratedGradients: .integratedGradients
        case .linear: .linear
        case .treeShap: .treeShap
        }
    }

    private static func targetClass(_ name: String, _ snapshot: ModelSnapshot) throws(ModelwireError) -> Int? {
        guard !name.isEmpty, name != "predicted" else { return nil }
        guard snapshot.task == .classification else {
            throw ModelwireError(.invalidArgument, "target_class: a regression model has no classes (got \"\(name)\")")
        }
        guard let id = snapshot.classNames.firstIndex(of: name) else {
            throw ModelwireError(
                .invalidArgument,
                "target_class: \"\(name)\" is not a class of the model (its classes: "
                    + "\(snapshot.classNames.prefix(20).joined(separator: ", ")))"
            )
        }
        return id
    }
}
