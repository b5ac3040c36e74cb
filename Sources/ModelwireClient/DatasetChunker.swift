public import ModelwireCodec

/// Cuts a dataset into `UploadDatasetRequest` chunks of bounded encoded size, for the
/// client-streaming UploadDataset call.
///
/// Every chunk names the dataset and carries the feature names and the whole list of class
/// names, so each chunk's class ids index the same list (the server merges labels by name).
/// Only the first chunk carries `replace`.
public enum DatasetChunker {
    /// The chunks of `dataset`, in order; at least one (an empty dataset is one empty chunk, for
    /// the server to reject with its own message).
    /// - Parameters:
    ///   - name: The dataset's name.
    ///   - dataset: The rows; features row-major, with class ids or regression targets per row.
    ///   - replace: Replace an existing dataset of that name.
    ///   - maxChunkBytes: The largest encoded chunk wanted. A single row larger than that still
    ///     goes in a chunk of its own.
    /// - Returns: The requests to send, first to last.
    public static func chunks(
        name: String,
        dataset: V1.Dataset,
        replace: Bool,
        maxChunkBytes: Int
    )
        -> [V1.UploadDatasetRequest]
    {
        let columns = Int(dataset.features?.columns ?? 0)
        let values = dataset.features?.values ?? []
        let rows = columns > 0 ? values.count / columns : max(dataset.classIds.count, dataset.targets.count)
        let rowsPerChunk = Self.rowsPerChunk(
            name: name,
            dataset: dataset,
            columns: columns,
            maxChunkBytes: maxChunkBytes
        )
        guard rows > rowsPerChunk else {
            return [V1.UploadDatasetRequest(name: name, rows: dataset, replace: replace)]
        }
        var chunks: [V1.UploadDatasetRequest] = []
        chunks.reserveCapacity((rows + rowsPerChunk - 1) / rowsPerChunk)
        var start = 0
        while start < rows {
            let end = min(rows, start + rowsPerChunk)
            var part = V1.Dataset(featureNames: dataset.featureNames, classNames: dataset.classNames)
            part.features = V1.Tensor(columns: UInt32(columns), values: Array(values[start * columns..<end * columns]))
            if !dataset.classIds.isEmpty { part.classIds = Array(dataset.classIds[start..<end]) }
            if !dataset.targets.isEmpty { part.targets = Array(dataset.targets[start..<end]) }
            chunks.append(V1.UploadDatasetRequest(name: name, rows: part, replace: replace && start == 0))
            start = end
        }
        return chunks
    }

    /// How many rows fit in one chunk, from a conservative per-row size.
    static func rowsPerChunk(name: String, dataset: V1.Dataset, columns: Int, maxChunkBytes: Int) -> Int {
        // Per row: 4 bytes per float; a class id is a varint of at most 5 bytes; a target is 4.
        let rowBytes = columns * 4 + (dataset.classIds.isEmpty ? 0 : 5) + (dataset.targets.isEmpty ? 0 : 4)
        // Fixed part: the name, the feature and class names (each with tag and length), the
        // tags and length prefixes of the packed fields and the nested messages.
        let names =
            dataset.featureNames.reduce(0) { $0 + $1.utf8.count + 6 }
            + dataset.classNames.reduce(0) { $0 + $1.utf8.count + 6 }
        let overhead = name.utf8.count + names + 64
        guard rowBytes > 0 else { return Int.max }
        return max(1, (maxChunkBytes - overhead) / rowBytes)
    }
}
