import ModelwireCodec
import ModelwireData
import ModelwireML
import ModelwireProtocol

extension ModelService {
    /// ListModels: every model with its versions and aliases.
    func listModels(_ request: V1.ListModelsRequest, _ call: CallContext) -> V1.ListModelsResponse {
        V1.ListModelsResponse(models: repository.list())
    }

    /// DescribeModel: one version's metadata.
    func describeModel(_ request: V1.DescribeModelRequest, _ call: CallContext) throws -> V1.ModelVersionInfo {
        try repository.describe(request.model)
    }

    /// DeleteModel: one version, or every version of a model.
    func deleteModel(_ request: V1.DeleteModelRequest, _ call: CallContext) throws -> V1.DeleteModelResponse {
        V1.DeleteModelResponse(deletedVersions: try repository.delete(name: request.name, version: request.version))
    }

    /// SetAlias: points an alias at a version; answers the version it pointed at before.
    func setAlias(_ request: V1.SetAliasRequest, _ call: CallContext) throws -> V1.SetAliasResponse {
        V1.SetAliasResponse(
            previousVersion: try repository.setAlias(
                name: request.name,
                alias: request.alias,
                version: request.version
            )
        )
    }

    /// ExportModel: a version's model file as stored, or the model as an ONNX graph.
    func exportModel(_ request: V1.ExportModelRequest, _ call: CallContext) throws -> V1.ExportModelResponse {
        switch request.format {
        case .modelFile: return try repository.export(request.model)
        case .onnx: return try exportOnnx(request.model)
        default:
            throw ModelwireError(
                .invalidArgument,
                "format: unknown value \(request.format.rawValue) (this server knows 0 model file, 1 onnx)"
            )
        }
    }

    /// ImportModel: a model file (from ExportModel or another language), or an ONNX model
    /// converted, stored as a new version.
    func importModel(_ request: V1.ImportModelRequest, _ call: CallContext) throws -> V1.ModelVersionInfo {
        guard request.modelFile.isEmpty || request.onnxModel.isEmpty else {
            throw ModelwireError(.invalidArgument, "give exactly one of model_file and onnx_model, not both")
        }
        if !request.onnxModel.isEmpty { return try importOnnx(request, call) }
        let file: V1.ModelFile
        do { file = try V1.ModelFile(serializedBytes: request.modelFile) } catch {
            throw ModelwireError(
                .invalidArgument,
                "model_file is not a modelwire.v1.ModelFile: \(error)",
                cause: error
            )
        }
        let name = request.name.isEmpty ? file.name : request.name
        _ = try ModelRepository.entry(bytes: request.modelFile, name: name.isEmpty ? "import" : name, version: 1)
        try call.checkActive()
        let entry = try repository.store(file, name: name)
        return try repository.describe(V1.ModelRef(name: entry.name, selector: .version(entry.version)))
    }

    /// Evaluate: metrics of a model version on inline rows or a stored dataset.
    func evaluate(_ request: V1.EvaluateRequest, _ call: CallContext) throws -> V1.EvaluateResponse {
        let entry = try repository.resolve(request.model)
        let source: RowSource? =
            switch request.data {
            case .inlineData(let d)?: .inline(d)
            case .dataset(let name)?: .dataset(name)
            case .table(let t)?: .table(t)
            case nil: nil
            }
        let wire = try modelRows(source, for: entry)
        try call.checkActive()
        let byName = try wire.aligned(
            toFeatureNames: entry.model.snapshot.featureNames,
            model: "model \(entry.name) v\(entry.version)"
        )
        let dataset = try Dataset(wire: byName, requireTwoClasses: false)
        try call.checkActive()
        let evaluation: TrainedModel.Evaluation
        do { evaluation = try entry.model.evaluate(dataset) } catch {
            let reason =
                error.code == .featureCountMismatch
                ? error.message : "cannot evaluate these rows: \(error.message)"
            throw ModelwireError(.invalidArgument, "model \(entry.name) v\(entry.version) \(reason)", cause: error)
        }
        try call.checkActive()
        var importances: [V1.FeatureImportance] = []
        if request.permutationRepeats > 0 {
            importances = try permutationImportance(request, entry, dataset, call)
        }
        return V1.EvaluateResponse(
            model: entry.name,
            version: entry.version,
            evaluation: evaluation.wire(rows: dataset.rows, classNames: entry.model.snapshot.classNames),
            permutationImportance: importances
        )
    }

    /// Most row evaluations one Evaluate may spend on permutation importance (rows × features × repeats).
    static let maxPermutationRowEvaluations = 200_000_000

    private func permutationImportance(
        _ request: V1.EvaluateRequest,
        _ entry: ModelRepository.Entry,
        _ dataset: Dataset,
        _ call: CallContext
    ) throws(ModelwireError) -> [V1.FeatureImportance] {
        let repeats = Int(request.permutationRepeats)
        guard repeats <= 100 else {
            throw ModelwireError(.invalidArgument, "permutation_repeats must be in 0...100, got \(repeats)")
        }
        let work = dataset.rows * dataset.columns * repeats
        guard work <= Self.maxPermutationRowEvaluations else {
            throw ModelwireError(
                .resourceExhausted,
                "permutation importance of \(dataset.rows) rows × \(dataset.columns) features × \(repeats) repeats "
                    + "is \(work) row evaluations, above the limit of \(Self.maxPermutationRowEvaluations): "
                    + "use fewer rows or repeats"
            )
        }
        let computed: [PermutationImportance]?
        do {
            computed = try entry.model.permutationImportance(
                dataset,
                groups: entry.preprocessor.map { p in zip(p.columns, p.featureGroups).map { ($0.name, $1) } },
                repeats: repeats,
                seed: request.permutationSeed,
                isCancelled: { (try? call.checkActive()) == nil }
            )
        } catch {
            throw ModelwireError(
                .invalidArgument,
                "model \(entry.name) v\(entry.version): \(error.message)",
                cause: error
            )
        }
        guard let computed else {
            try call.checkActive()
            throw ModelwireError(.cancelled, "the call was cancelled")
        }
        return computed.map {
            V1.FeatureImportance(feature: $0.feature, mean: Float($0.mean), std: Float($0.standardDeviation))
        }
    }
}
