import ModelwireCodec
import ModelwireProtocol

extension ModelService {
    /// A client-streamed dataset upload being assembled, chunk by chunk, within the size limit.
    struct DatasetUpload: Sendable {
        let name: String
        let replace: Bool
        private(set) var dataset = V1.Dataset()
        /// The chunks' tables, when the upload sends tables (then `dataset` stays empty).
        private var tables: [V1.LabelledTable] = []
        private var chunks = 0
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
            if chunk.rows != nil, chunk.table != nil {
                throw ModelwireError(.invalidArgument, "a chunk holds rows and a table: give exactly one")
            }
            if let rows = chunk.rows {
                guard tables.isEmpty else {
                    throw ModelwireError(
                        .invalidArgument,
                        "chunk \(chunks + 1) holds rows, the upload's first chunks a table"
                    )
                }
                try dataset.append(chunk: rows)
            } else if let next = chunk.table {
                guard dataset.features == nil else {
                    throw ModelwireError(
                        .invalidArgument,
                        "chunk \(chunks + 1) holds a table, the upload's first chunks rows"
                    )
                }
                if let first = tables.first { try next.checkMatches(first: first, number: chunks + 1) }
                tables.append(next)
            }
            chunks += 1
        }

        /// What the chunks assembled: a table, or numeric rows.
        var rows: DatasetStore.Rows { tables.isEmpty ? .dataset(dataset) : .table(.concatenating(tables)) }
    }

    /// Starts assembling an UploadDataset call from its first chunk.
    func startUpload(_ first: V1.UploadDatasetRequest) throws(ModelwireError) -> DatasetUpload {
        try DatasetUpload(first: first, maxBytes: configuration.limits.maxDatasetBytes)
    }

    /// Stores a completely received upload (the end of UploadDataset).
    func saveUpload(_ upload: DatasetUpload, _ call: CallContext) throws -> V1.DatasetInfo {
        try call.checkActive()
        return try datasets.save(name: upload.name, rows: upload.rows, replace: upload.replace)
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

extension V1.LabelledTable {
    /// Refuses an upload chunk whose columns (names, order, types) or label column differ from the first chunk's.
    func checkMatches(first: V1.LabelledTable, number: Int) throws(ModelwireError) {
        let mine = first.table?.columns ?? []
        let theirs = table?.columns ?? []
        guard labelColumn == first.labelColumn || labelColumn.isEmpty, mine.map(\.name) == theirs.map(\.name) else {
            throw ModelwireError(
                .invalidArgument,
                "chunk \(number) has columns \(theirs.map(\.name)) (label '\(labelColumn)'), "
                    + "the first chunk \(mine.map(\.name)) (label '\(first.labelColumn)')"
            )
        }
        for (a, b) in zip(mine, theirs) where a.typeName != b.typeName {
            throw ModelwireError(
                .invalidArgument,
                "chunk \(number): column '\(a.name)' holds \(b.typeName) values, in the first chunk \(a.typeName)"
            )
        }
    }

    /// The chunks of an upload as one table (each checked with ``checkMatches(first:number:)``).
    static func concatenating(_ chunks: [V1.LabelledTable]) -> V1.LabelledTable {
        guard var result = chunks.first, chunks.count > 1 else { return chunks.first ?? V1.LabelledTable() }
        let columns = result.table?.columns ?? []
        result.table?.columns = columns.indices.map { c in
            let parts = chunks.map { $0.table?.columns[c] ?? V1.TableColumn() }
            var column = V1.TableColumn(name: columns[c].name)
            switch columns[c].values {
            case .floats?: column.values = .floats(V1.FloatColumn(values: parts.flatMap { $0.floatValues }))
            case .ints?: column.values = .ints(V1.IntColumn(values: parts.flatMap { $0.intValues }))
            case .strings?: column.values = .strings(V1.StringColumn(values: parts.flatMap { $0.stringValues }))
            case .bools?: column.values = .bools(V1.BoolColumn(values: parts.flatMap { $0.boolValues }))
            case nil: break
            }
            if parts.contains(where: { !$0.missing.isEmpty }) {
                column.missing = parts.flatMap {
                    $0.missing.isEmpty ? [Bool](repeating: false, count: $0.rowCount) : $0.missing
                }
            }
            return column
        }
        return result
    }
}

extension V1.TableColumn {
    fileprivate var floatValues: [Float] { if case .floats(let v)? = values { v.values } else { [] } }
    fileprivate var intValues: [Int64] { if case .ints(let v)? = values { v.values } else { [] } }
    fileprivate var stringValues: [String] { if case .strings(let v)? = values { v.values } else { [] } }
    fileprivate var boolValues: [Bool] { if case .bools(let v)? = values { v.values } else { [] } }
}
