import ModelwireCodec
import ModelwireProtocol

extension ModelService {
    /// A client-streamed dataset upload being assembled, chunk by chunk, within the size limit.
    struct DatasetUpload: Sendable {
        let name: String
        let replace: Bool
        private(set) var dataset = V1.Dataset()
        private(set) var bytes = 0
        private let maxBytes: Int

        /// Starts an upload from its first chunk (which names the dataset).
        /// - Throws: `ModelwireError` for an invalid name.
        init(first: V1.UploadDatasetRequest, maxBytes: Int) throws(ModelwireError) {
            try ResourceName.validate(first.name, "dataset")
            self.name = first.name
            self.replace = first.replace
            self.maxBytes = maxBytes
        }

        /// Adds a chunk of `payloadBytes` wire bytes.
        /// - Throws: `ModelwireError` when the chunk names another dataset, its shape differs, or
        ///   the upload grows past the limit.
        mutating func append(_ chunk: V1.UploadDatasetRequest, payloadBytes: Int) throws(ModelwireError) {
            guard chunk.name.isEmpty || chunk.name == name else {
                throw ModelwireError(.invalidArgument, "chunk names dataset \"\(chunk.name)\", the upload \"\(name)\"")
            }
            bytes += payloadBytes
            guard bytes <= maxBytes else {
                throw ModelwireError(.resourceExhausted, "the dataset exceeds \(maxBytes) bytes")
            }
            if let rows = chunk.rows { try dataset.append(chunk: rows) }
        }
    }

    /// Starts assembling an UploadDataset call from its first chunk.
    func startUpload(_ first: V1.UploadDatasetRequest) throws(ModelwireError) -> DatasetUpload {
        try DatasetUpload(first: first, maxBytes: configuration.limits.maxDatasetBytes)
    }

    /// Stores a completely received upload (the end of UploadDataset).
    func saveUpload(_ upload: DatasetUpload, _ call: CallContext) throws -> V1.DatasetInfo {
        try call.checkActive()
        return try datasets.save(name: upload.name, dataset: upload.dataset, replace: upload.replace)
    }

    /// ListDatasets: every stored dataset.
    func listDatasets(_ request: V1.ListDatasetsRequest, _ call: CallContext) -> V1.ListDatasetsResponse {
        V1.ListDatasetsResponse(datasets: datasets.list())
    }

    /// DeleteDataset: removes a stored dataset.
    func deleteDataset(_ request: V1.DeleteDatasetRequest, _ call: CallContext) throws -> V1.DeleteDatasetResponse {
        try datasets.delete(name: request.name)
        return V1.DeleteDatasetResponse()
    }
}
