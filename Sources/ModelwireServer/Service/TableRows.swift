import ModelwireCodec
import ModelwireData
import ModelwireDataWire
import ModelwireProtocol

/// Rows a call sends as a typed table (raw columns with categories and gaps), turned into the
/// numeric rows models compute on, with the preprocessing a model stores or fits.
enum TableRows {
    /// Fits preprocessing on a labelled table and encodes it (Train).
    /// - Returns: The encoded training rows (feature names are the encoded features) and the
    ///   preprocessing to store in the model file.
    /// - Throws: `ModelwireError` invalid_argument naming the column or option at fault.
    static func fit(
        _ labelled: V1.LabelledTable,
        spec: V1.PreprocessingSpec?,
        task: V1.Task
    ) throws(ModelwireError) -> (rows: V1.Dataset, preprocessing: V1.Preprocessing) {
        do {
            let (features, targets) = try labelledColumns(labelled, task: task)
            let preprocessor = try Preprocessor.fit(
                features,
                options: try Preprocessor.Options(validating: spec ?? V1.PreprocessingSpec())
            )
            let encoded = try preprocessor.encode(features)
            let dataset = Dataset(featureNames: preprocessor.featureNames, features: encoded, targets: targets)
            return (V1.Dataset(dataset), V1.Preprocessing(preprocessor))
        } catch {
            throw ModelwireError(.invalidArgument, "the table cannot be trained on: \(error.message)", cause: error)
        }
    }

    /// Encodes a labelled table with a model's preprocessing (Evaluate, and Explain, whose label
    /// column may be empty: the targets are then placeholders it ignores).
    /// - Parameter model: The model as messages name it, e.g. `model m v3`.
    /// - Throws: `ModelwireError` invalid_argument naming the column at fault.
    static func encode(
        _ labelled: V1.LabelledTable,
        with preprocessor: Preprocessor,
        task: V1.Task,
        model: String
    ) throws(ModelwireError) -> V1.Dataset {
        do {
            let features: DataTable
            let targets: Dataset.Targets
            if labelled.labelColumn.isEmpty {
                features = try DataTable(validating: labelled.table ?? V1.Table())
                targets = .values([Float](repeating: 0, count: features.rows))
            } else {
                (features, targets) = try labelledColumns(labelled, task: task)
            }
            let encoded = try preprocessor.encode(features)
            try checkFinite(encoded, preprocessor)
            return V1.Dataset(Dataset(featureNames: preprocessor.featureNames, features: encoded, targets: targets))
        } catch {
            throw ModelwireError(.invalidArgument, "\(model): \(error.message)", cause: error)
        }
    }

    /// Encodes rows to predict with a model's preprocessing: a table, or (for a model without
    /// categorical columns) a float tensor with one column per raw input column, NaN for missing.
    /// - Returns: Row-major encoded features and the row count.
    /// - Throws: `ModelwireError` invalid_argument (resource_exhausted above `maxRows`) naming the fault.
    static func encode(
        table: V1.Table?,
        inputs: V1.Tensor?,
        with preprocessor: Preprocessor,
        maxRows: Int,
        model: String
    ) throws(ModelwireError) -> (values: [Float], rows: Int) {
        let raw: DataTable
        do {
            if let table {
                raw = try DataTable(validating: table)
            } else {
                raw = try floatTable(inputs ?? V1.Tensor(), preprocessor, model: model)
            }
        } catch {
            throw ModelwireError(.invalidArgument, "\(model): \(error.message)", cause: error)
        }
        guard raw.rows <= maxRows else {
            throw ModelwireError(.resourceExhausted, "\(raw.rows) rows exceed the limit of \(maxRows) per call")
        }
        do {
            let encoded = try preprocessor.encode(raw)
            try checkFinite(encoded, preprocessor)
            return (encoded, raw.rows)
        } catch {
            throw ModelwireError(.invalidArgument, "\(model): \(error.message)", cause: error)
        }
    }

    /// Splits the label column off a wire table and reads its targets for `task`.
    private static func labelledColumns(
        _ labelled: V1.LabelledTable,
        task: V1.Task
    ) throws(DatasetError) -> (DataTable, Dataset.Targets) {
        let table = try DataTable(validating: labelled.table ?? V1.Table())
        guard !labelled.labelColumn.isEmpty else {
            throw DatasetError(
                .missingLabelColumn,
                message: "label_column is empty: name the column holding the targets"
            )
        }
        return try table.labelled(by: labelled.labelColumn, task: task == .regression ? .regression : .classification)
    }

    /// A float tensor as a table of the preprocessor's raw columns (NaN = missing).
    private static func floatTable(
        _ inputs: V1.Tensor,
        _ preprocessor: Preprocessor,
        model: String
    ) throws(DatasetError) -> DataTable {
        if preprocessor.hasCategoricalColumns {
            let names = preprocessor.columns.compactMap { if case .categorical = $0.kind { $0.name } else { nil } }
            throw DatasetError(
                .columnType,
                message:
                    "it takes categorical columns (\(names.joined(separator: ", "))), which float rows cannot carry: "
                    + "send the rows as a table (the Predict call's table field; the V2 HTTP endpoint takes FP32 only)"
            )
        }
        let columns = preprocessor.columns.count
        guard Int(inputs.columns) == columns, !inputs.values.isEmpty, inputs.values.count % columns == 0 else {
            throw DatasetError(
                .featureCountMismatch,
                message:
                    "expects \(columns) raw columns per row (\(preprocessor.columns.map(\.name).joined(separator: ", "))), "
                    + "got \(inputs.columns) columns and \(inputs.values.count) values"
            )
        }
        let rows = inputs.values.count / columns
        var tableColumns = [DataTable.Column]()
        for (c, column) in preprocessor.columns.enumerated() {
            var values = [Float](repeating: 0, count: rows)
            for r in 0..<rows { values[r] = inputs.values[r * columns + c] }
            tableColumns.append(DataTable.Column(name: column.name, values: .floats(values)))
        }
        return try DataTable(columns: tableColumns)
    }

    /// Refuses an infinite raw number (NaN was missing and has been imputed).
    private static func checkFinite(_ encoded: [Float], _ preprocessor: Preprocessor) throws(DatasetError) {
        guard let bad = ModelService.firstNonFinite(encoded) else { return }
        let names = preprocessor.featureNames
        throw DatasetError(
            .nonFinite,
            message: "row \(bad / names.count + 1), feature '\(names[bad % names.count])' is infinite"
        )
    }
}

extension ModelService {
    /// Where the labelled rows of an Evaluate or Explain call come from.
    enum RowSource {
        case inline(V1.Dataset)
        case dataset(String)
        case table(V1.LabelledTable)
    }

    /// The rows of a call about a model, as numeric rows in its features: inline rows as given,
    /// a stored dataset of either kind, a table encoded with the model's preprocessing.
    /// - Throws: `ModelwireError`: invalid_argument for no rows, or a table given to a model
    ///   without preprocessing; not_found for an unknown dataset.
    func modelRows(_ source: RowSource?, for entry: ModelRepository.Entry) throws -> V1.Dataset {
        let model = "model \(entry.name) v\(entry.version)"
        let table: V1.LabelledTable
        switch source {
        case .inline(let rows)?: return rows
        case .dataset(let name)?:
            switch try datasets.rows(named: name) {
            case .dataset(let rows): return rows
            case .table(let stored): table = stored
            }
        case .table(let given)?: table = given
        case nil: throw ModelwireError(.invalidArgument, "the request has no rows (inline_data, dataset or table)")
        }
        guard let preprocessor = entry.preprocessor else {
            throw ModelwireError(
                .invalidArgument,
                "\(model) takes numeric rows: it was not trained from a table, so it has no preprocessing for raw columns"
            )
        }
        return try TableRows.encode(table, with: preprocessor, task: entry.metadata.task, model: model)
    }
}
