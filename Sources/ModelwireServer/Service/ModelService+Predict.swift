import ModelwireCodec
import ModelwireML
import ModelwireProtocol

extension ModelService {
    /// A predict request, checked against its model and the limits, ready to be computed.
    struct PreparedPredict: Sendable {
        let entry: ModelRepository.Entry
        /// Row-major features, `rowCount` × the model's feature count.
        let rows: [Float]
        let rowCount: Int
        let includeScores: Bool
    }

    /// Checks a predict request: the model exists, rows fit its feature count and the row limit,
    /// and every value is finite. A model with preprocessing encodes its raw rows (a table, or
    /// floats per raw column) here.
    /// - Throws: `ModelwireError` naming what is wrong (invalid_argument, not_found, resource_exhausted).
    func preparePredict(_ request: V1.PredictRequest) throws(ModelwireError) -> PreparedPredict {
        let entry = try repository.resolve(request.model)
        if request.table != nil, request.inputs != nil {
            throw ModelwireError(.invalidArgument, "give exactly one of inputs and table, not both")
        }
        if let preprocessor = entry.preprocessor {
            let (values, rows) = try TableRows.encode(
                table: request.table,
                inputs: request.inputs,
                with: preprocessor,
                maxRows: configuration.limits.maxRowsPerPredict,
                model: "model \(entry.name) v\(entry.version)"
            )
            return PreparedPredict(
                entry: entry,
                rows: values,
                rowCount: rows,
                includeScores: request.includeProbabilities
            )
        }
        guard request.table == nil else {
            throw ModelwireError(
                .invalidArgument,
                "model \(entry.name) v\(entry.version) takes numeric rows (inputs): it was not trained from a table, "
                    + "so it has no preprocessing for raw columns"
            )
        }
        let inputs = request.inputs ?? V1.Tensor()
        let columns = entry.model.featureCount
        guard Int(inputs.columns) == columns, inputs.values.count % columns == 0, !inputs.values.isEmpty else {
            throw ModelwireError(
                .invalidArgument,
                "model \(entry.name) v\(entry.version) expects \(columns) features per row, got \(inputs.columns) columns and \(inputs.values.count) values"
            )
        }
        let rows = inputs.values.count / columns
        let limit = configuration.limits.maxRowsPerPredict
        guard rows <= limit else {
            throw ModelwireError(.resourceExhausted, "\(rows) rows exceed the limit of \(limit) per call")
        }
        if let bad = Self.firstNonFinite(inputs.values) {
            throw ModelwireError(
                .invalidArgument,
                "row \(bad / columns + 1), feature \(bad % columns + 1) is NaN or infinite"
            )
        }
        return PreparedPredict(
            entry: entry,
            rows: inputs.values,
            rowCount: rows,
            includeScores: request.includeProbabilities
        )
    }

    /// Computes a large predict (on the worker pool), in chunks of rows so that a cancelled or
    /// timed-out call stops between chunks.
    /// - Parameters:
    ///   - threads: Threads the forward pass may use.
    ///   - timings: Queue and decode times; the compute time and batch rows are filled in here.
    func predict(
        _ prepared: PreparedPredict,
        threads: Int,
        timings: V1.CallTimings,
        _ call: CallContext
    ) throws(ModelwireError) -> V1.PredictResponse {
        try call.checkActive()
        let columns = prepared.entry.model.featureCount
        let clock = ContinuousClock()
        let start = clock.now
        var response = V1.PredictResponse()
        var row = 0
        while row < prepared.rowCount {
            try call.checkActive()
            let end = min(prepared.rowCount, row + Self.predictChunkRows)
            let rows =
                row == 0 && end == prepared.rowCount
                ? prepared.rows
                : Array(prepared.rows[(row * columns)..<(end * columns)])
            let chunk = PredictResponses.make(
                entry: prepared.entry,
                prediction: prepared.entry.model.predict(rows, threads: threads),
                rowRange: 0..<(end - row),
                includeScores: prepared.includeScores,
                timings: timings
            )
            if row == 0 {
                response = chunk
            } else {
                response.classIds += chunk.classIds
                response.values += chunk.values
                response.scores?.values += chunk.scores?.values ?? []
            }
            row = end
        }
        metrics?.predicted(batchRows: prepared.rowCount)
        response.timings?.computeUs = UInt32(clamping: (clock.now - start).microseconds)
        response.timings?.batchRows = UInt32(clamping: prepared.rowCount)
        return response
    }

    /// Rows computed between two cancellation checks of a large predict.
    static let predictChunkRows = 16_384

    /// The index of the first NaN or infinity in `values`, if any. The common all-finite case is
    /// one branch-free pass over the exponent bits, which the compiler vectorises.
    static func firstNonFinite(_ values: [Float]) -> Int? {
        let exponent: UInt32 = 0x7F80_0000
        let any = values.withUnsafeBufferPointer { buffer in
            buffer.reduce(UInt32(0)) { $0 | (($1.bitPattern & exponent) == exponent ? 1 : 0) }
        }
        return any == 0 ? nil : values.firstIndex { !$0.isFinite }
    }
}

extension Duration {
    /// Whole microseconds, clamped at zero.
    var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return max(0, seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
    }
}
