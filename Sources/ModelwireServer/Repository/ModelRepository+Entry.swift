import ModelwireCodec
import ModelwireData
import ModelwireDataWire
import ModelwireML
import ModelwireProtocol

extension ModelRepository {
    /// A loaded model version.
    /// A class, not a struct: every predict resolves one, and passing it on is then one retain
    /// instead of a copy of the model, the snapshot and the metadata.
    final class Entry: Sendable {
        let name: String
        let version: UInt32
        let model: TrainedModel
        /// How raw table columns become the model's features, for a model trained from a table.
        let preprocessor: Preprocessor?
        /// The model file without its parameters (metadata for describe/list).
        let metadata: V1.ModelFile
        let fileBytes: UInt64
        let parameterCount: UInt64

        /// The columns a row to predict has: the raw columns of a model with preprocessing, else its features.
        var inputColumnCount: Int { preprocessor?.columns.count ?? model.featureCount }

        init(
            name: String,
            version: UInt32,
            model: TrainedModel,
            preprocessor: Preprocessor? = nil,
            metadata: V1.ModelFile,
            fileBytes: UInt64,
            parameterCount: UInt64
        ) {
            self.name = name
            self.version = version
            self.model = model
            self.preprocessor = preprocessor
            self.metadata = metadata
            self.fileBytes = fileBytes
            self.parameterCount = parameterCount
        }
    }

    /// Decodes and validates a model file into a servable entry.
    static func entry(bytes: [UInt8], name: String, version: UInt32) throws -> Entry {
        let file: V1.ModelFile
        do { file = try V1.ModelFile(serializedBytes: bytes) } catch {
            throw ModelwireError(.invalidArgument, "not a model file: \(error)", cause: error)
        }
        let model: TrainedModel
        do { model = try TrainedModel(snapshot: try file.snapshot()) } catch let error as ModelwireError {
            throw error
        } catch {
            let reason = (error as? TrainingError)?.message ?? "\(error)"
            throw ModelwireError(.invalidArgument, "invalid model file: \(reason)", cause: error)
        }
        let preprocessor = try file.preprocessing.map { wire throws(ModelwireError) in
            let fitted: Preprocessor
            do throws(DatasetError) { fitted = try Preprocessor(validating: wire) } catch {
                throw ModelwireError(
                    .invalidArgument,
                    "invalid model file: preprocessing: \(error.message)",
                    cause: error
                )
            }
            guard fitted.featureNames.count == model.featureCount else {
                throw ModelwireError(
                    .invalidArgument,
                    "invalid model file: its preprocessing makes \(fitted.featureNames.count) features, "
                        + "the model takes \(model.featureCount)"
                )
            }
            return fitted
        }
        var metadata = file
        metadata.parameters = nil
        metadata.name = name
        metadata.version = version
        return Entry(
            name: name,
            version: version,
            model: model,
            preprocessor: preprocessor,
            metadata: metadata,
            fileBytes: UInt64(bytes.count),
            parameterCount: file.parameterCount
        )
    }

    static func info(_ entry: Entry, aliases: [String: UInt32]) -> V1.ModelVersionInfo {
        let m = entry.metadata
        // The stored record cannot hold its own file's version and length: they are the entry's.
        var transform = m.transform
        transform?.report?.result?.version = entry.version
        transform?.report?.result?.fileBytes = entry.fileBytes
        return V1.ModelVersionInfo(
            name: entry.name,
            version: entry.version,
            task: m.task,
            spec: m.spec,
            inputColumns: UInt32(m.featureNames.count),
            featureNames: m.featureNames,
            classNames: m.classNames,
            createdUnixMs: m.createdUnixMs,
            trainingMetrics: m.training?.evaluation,
            parameterCount: entry.parameterCount,
            fileBytes: entry.fileBytes,
            aliases: aliases.filter { $0.value == entry.version }.keys.sorted(),
            transform: transform,
            preprocessing: m.preprocessing
        )
    }
}
