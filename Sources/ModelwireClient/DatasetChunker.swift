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

extension DatasetChunker {
    /// The chunks of a table upload, in order: row ranges of every column, each chunk with the
    /// column names, types and label column; at least one.
    /// - Parameters:
    ///   - name: The dataset's name.
    ///   - table: The table and its label column.
    ///   - replace: Replace an existing dataset of that name.
    ///   - maxChunkBytes: The largest encoded chunk wanted (a single larger row gets a chunk of its own).
    /// - Returns: The requests to send, first to last.
    public static func chunks(
        name: String,
        table: V1.LabelledTable,
        replace: Bool,
        maxChunkBytes: Int
    ) -> [V1.UploadDatasetRequest] {
        let columns = table.table?.columns ?? []
        let rows = columns.map(\.rowCount).max() ?? 0
        // Each row's encoded bytes: the sum over columns (a string's length and tag, a float's 4, ...).
        var rowBytes = [Int](repeating: 0, count: rows)
        for column in columns {
            switch column.values {
            case .floats(let v)?: for r in v.values.indices { rowBytes[r] += 4 }
            case .ints(let v)?: for r in v.values.indices { rowBytes[r] += 10 }
            case .bools(let v)?: for r in v.values.indices { rowBytes[r] += 1 }
            case .strings(let v)?: for (r, s) in v.values.enumerated() { rowBytes[r] += s.utf8.count + 6 }
            case nil: break
            }
            if !column.missing.isEmpty { for r in 0..<rows { rowBytes[r] += 1 } }
        }
        let overhead =
            name.utf8.count + table.labelColumn.utf8.count + columns.reduce(64) { $0 + $1.name.utf8.count + 16 }
        var ranges: [Range<Int>] = []
        var start = 0
        var bytes = overhead
        for r in 0..<rows {
            if r > start, bytes + rowBytes[r] > maxChunkBytes {
                ranges.append(start..<r)
                (start, bytes) = (r, overhead)
            }
            bytes += rowBytes[r]
        }
        ranges.append(start..<rows)
        guard ranges.count > 1 else { return [V1.UploadDatasetRequest(name: name, replace: replace, table: table)] }
        return ranges.enumerated().map { index, range in
            let part = V1.Table(columns: columns.map { $0.rows(range) })
            return V1.UploadDatasetRequest(
                name: name,
                replace: replace && index == 0,
                table: V1.LabelledTable(table: part, labelColumn: table.labelColumn)
            )
        }
    }
}
