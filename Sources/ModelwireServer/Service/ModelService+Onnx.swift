import ModelwireCodec
import ModelwireML
import ModelwireOnnx
import ModelwireProtocol

/// ONNX on ImportModel (`onnx_model`) and ExportModel (`format` ONNX).
extension ModelService {
    /// Converts `request.onnxModel` and stores it as the next version of `request.name`.
    func importOnnx(_ request: V1.ImportModelRequest, _ call: CallContext) throws -> V1.ModelVersionInfo {
        guard !request.name.isEmpty else {
            throw ModelwireError(.invalidArgument, "name is required with onnx_model (an ONNX file names no model)")
        }
        try ResourceName.validate(request.name, "model")
        let imported: OnnxImportedModel
        do {
            // The request is already within the server's message limit; no tensor may claim more
            // elements than the file has bytes, so nothing is allocated beyond a multiple of it.
            imported = try OnnxImporter.convert(request.onnxModel, limits: .forFile(bytes: request.onnxModel.count))
        } catch {
            throw ModelwireError(.invalidArgument, "onnx_model: \(error.message)", cause: error)
        }
        try call.checkActive()
        var file = V1.ModelFile(
            snapshot: imported.snapshot,
            name: request.name,
            version: 0,
            createdUnixMs: 0,
            spec: nil,
            options: nil,
            evaluation: nil
        )
        file.onnx = V1.OnnxOrigin(
            inputName: imported.inputName,
            outputNames: imported.outputNames,
            producerName: imported.producerName,
            producerVersion: imported.producerVersion,
            operators: imported.operators
        )
        let entry = try repository.store(file, name: request.name)
        return try repository.describe(V1.ModelRef(name: entry.name, selector: .version(entry.version)))
    }

    /// The version `reference` selects as an ONNX model; an imported model keeps its input name.
    func exportOnnx(_ reference: V1.ModelRef?) throws -> V1.ExportModelResponse {
        let entry = try repository.resolve(reference)
        if entry.preprocessor != nil {
            throw ModelwireError(
                .failedPrecondition,
                "model \(entry.name) v\(entry.version) was trained from a table: its preprocessing (imputation, "
                    + "category encoding) has no ONNX export here, and a graph of the encoded features alone would "
                    + "take other inputs than the model does; export the model file instead"
            )
        }
        if let reason = OnnxExporter.unsupported(entry.model.snapshot) {
            throw ModelwireError(.failedPrecondition, "model \(entry.name) v\(entry.version) \(reason)")
        }
        let input = entry.metadata.onnx?.inputName ?? ""
        let bytes = OnnxExporter.export(
            entry.model.snapshot,
            inputName: input.isEmpty ? "input" : input,
            modelName: entry.name,
            producerVersion: configuration.serverVersion
        )
        return V1.ExportModelResponse(name: entry.name, version: entry.version, onnxModel: bytes)
    }
}
