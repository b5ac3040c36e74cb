import ArgumentParser
import ModelwireClient
import ModelwireCodec
import ModelwireData
import ModelwireDataWire

/// `--na-values`: which CSV fields count as missing, for rows read as a typed table.
struct MissingValueOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Field texts that mean a missing value, comma separated (an empty field is always missing; "
                + "default: NA,N/A,NaN,nan,null,NULL,None,?).",
            valueName: "list"
        )
    )
    var naValues: String?

    /// The tokens a field is compared with (after trimming).
    var tokens: Set<String> {
        guard let naValues else { return DataTable.defaultMissingTokens }
        return Set(naValues.split(separator: ",", omittingEmptySubsequences: false).map(String.init)).union([""])
    }
}

/// `train`'s preprocessing flags: how a table's raw columns become the model's features.
struct PreprocessingOptions: ParsableArguments {
    enum EncodingName: String, ExpressibleByArgument, CaseIterable {
        case oneHot = "one-hot"
        case ordinal
    }
    enum UnknownName: String, ExpressibleByArgument, CaseIterable { case ignore, error }
    enum ImputationName: String, ExpressibleByArgument, CaseIterable {
        case mean, median
        case mostFrequent = "most-frequent"
        case constant
    }

    @Option(help: ArgumentHelp("Columns to treat as categories even when they hold numbers.", valueName: "a,b"))
    var categorical: String?
    @Option(help: ArgumentHelp("Columns to treat as numbers even when they hold text.", valueName: "a,b"))
    var numeric: String?
    @Option(help: ArgumentHelp("Columns to leave out of the model.", valueName: "a,b")) var drop: String?
    @Option(help: "How categories become features (default one-hot).") var encoding: EncodingName?
    @Option(help: "One-hot: at most this many features per column; rarer categories share 'other' (default 20).")
    var maxCategories: UInt32?
    @Option(help: "A category never seen in training at predict time: ignore (all zeros) or error (default ignore).")
    var unknownCategories: UnknownName?
    @Option(help: "How missing numbers are filled (default mean).") var impute: ImputationName?
    @Option(help: "The fill of --impute constant (default 0).") var fill: Float?
    @Option(help: "How missing categories are filled: most-frequent or constant (default most-frequent).")
    var imputeCategorical: ImputationName?
    @Option(help: "The category of --impute-categorical constant (default 'missing').") var fillCategorical: String?
    @Flag(help: "Add a 0/1 feature after each column that had missing values in training.")
    var missingIndicators = false
    @Flag(help: "Send the CSV as a typed table even when every column is numeric and complete.") var table = false

    /// Whether any flag asks for preprocessing (then the CSV is sent as a table).
    var requested: Bool {
        table || missingIndicators || categorical != nil || numeric != nil || drop != nil || encoding != nil
            || maxCategories != nil || unknownCategories != nil || impute != nil || fill != nil
            || imputeCategorical != nil || fillCategorical != nil
    }

    func validate() throws {
        if let maxCategories, maxCategories < 2 { throw ValidationError("--max-categories must be at least 2") }
        if let imputeCategorical, imputeCategorical == .mean || imputeCategorical == .median {
            throw ValidationError(
                "--impute-categorical takes most-frequent or constant, not \(imputeCategorical.rawValue)"
            )
        }
        if fill != nil, impute != .constant { throw ValidationError("--fill needs --impute constant") }
        if fillCategorical != nil, imputeCategorical != .constant {
            throw ValidationError("--fill-categorical needs --impute-categorical constant")
        }
    }

    /// The column names of a comma-separated flag.
    static func names(_ list: String?) -> [String] {
        (list ?? "").split(separator: ",").map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
    }

    /// The wire form of these flags.
    var spec: V1.PreprocessingSpec {
        func imputation(_ name: ImputationName?) -> V1.Imputation {
            switch name {
            case nil: .default
            case .mean?: .mean
            case .median?: .median
            case .mostFrequent?: .mostFrequent
            case .constant?: .constant
            }
        }
        return V1.PreprocessingSpec(
            categorical: Self.names(categorical),
            numeric: Self.names(numeric),
            drop: Self.names(drop),
            encoding: encoding == .ordinal ? .ordinal : .oneHot,
            maxCategories: maxCategories ?? 0,
            unknownCategories: unknownCategories == .error ? .error : .ignore,
            numericImputation: imputation(impute),
            numericFill: fill ?? 0,
            categoricalImputation: imputation(imputeCategorical),
            categoricalFill: fillCategorical ?? "",
            missingIndicators: missingIndicators
        )
    }
}

/// CSV files as typed tables (ModelwireData's reader infers each column's type), for models that
/// carry preprocessing.
enum TableInput {
    /// Reads a CSV file (or stdin for `-`) as a typed table.
    /// - Parameter textColumns: Columns read as text whatever they hold (labels, categorical columns).
    static func read(
        path: String,
        format: CSVFormat,
        missing: Set<String>,
        textColumns: Set<String>,
        standardInput: () throws -> [UInt8] = DataInput.standardInput
    ) throws -> DataTable {
        do {
            return try DataTable(
                csvBytes: path == "-" ? try standardInput() : try readFile(path),
                format: format,
                missingTokens: missing,
                textColumns: textColumns
            )
        } catch let error as DatasetError {
            throw CLIError(error.message)
        }
    }

    /// Rows for a model with preprocessing (predict, explain): the CSV as a wire table, its
    /// categorical columns read as text.
    static func modelTable(
        path: String,
        format: CSVFormat,
        missing: Set<String>,
        preprocessing: V1.Preprocessing
    ) throws -> V1.Table {
        V1.Table(try read(path: path, format: format, missing: missing, textColumns: textColumns(of: preprocessing)))
    }

    /// The label column of a training CSV: `--label`, else the last column.
    static func labelColumn(_ table: DataTable, label: String?) throws -> String {
        guard let label else { return table.names.last ?? "" }
        guard table.column(named: label) != nil else {
            throw CLIError("no column named '\(label)' in the header (\(table.names.joined(separator: ", ")))")
        }
        return label
    }

    /// Whether a training table needs preprocessing: a feature column that is not numbers, or a missing value.
    static func needsPreprocessing(_ table: DataTable, label: String) -> Bool {
        table.columns.contains { column in
            guard column.name != label else { return false }
            if case .floats = column.values {} else { return true }
            return (0..<table.rows).contains { column.isMissing($0) }
        }
    }

    /// The raw columns a model with preprocessing reads as text: its categorical ones.
    static func textColumns(of preprocessing: V1.Preprocessing) -> Set<String> {
        Set(preprocessing.columns.compactMap { if case .categorical? = $0.kind { $0.name } else { nil } })
    }

    /// Rough encoded size of a table (to decide between inline rows and a temporary upload).
    static func estimatedBytes(_ table: DataTable) -> Int {
        table.columns.reduce(0) { total, column in
            switch column.values {
            case .strings(let v): total + v.reduce(0) { $0 + $1.utf8.count + 2 }
            default: total + table.rows * 8
            }
        }
    }
}

extension TableInput {
    /// A job's rows as Train and Tune take them.
    enum JobData {
        case inline(V1.Dataset)
        case dataset(String)
        case table(V1.LabelledTable)

        /// Whether the rows are a table (then the preprocessing flags go with them).
        var isTable: Bool { if case .table = self { true } else { false } }
    }

    /// A Train or Tune call's rows from `--data PATH` or `--dataset NAME`. A CSV whose feature columns are
    /// all complete numbers (and no preprocessing flag) goes as numeric rows, as before; otherwise
    /// as a typed table the server fits preprocessing on. Too large for one frame: uploaded first
    /// (`uploaded` names the temporary dataset to delete afterwards).
    static func jobRows(
        path: String?,
        dataset: String?,
        label: String?,
        task: V1.Task,
        format: CSVFormat,
        missing: Set<String>,
        preprocessing: PreprocessingOptions,
        client: ModelwireClient,
        options: ModelwireClient.CallOptions
    ) async throws -> (data: JobData, uploaded: String?) {
        guard let path else { return (.dataset(dataset ?? ""), nil) }
        var text = Set(PreprocessingOptions.names(preprocessing.categorical))
        if task != .regression, let label { text.insert(label) }
        var table = try read(path: path, format: format, missing: missing, textColumns: text)
        let labelName = try labelColumn(table, label: label)
        if !preprocessing.requested, !needsPreprocessing(table, label: labelName) {
            let rows = try await DataInput.jobRows(
                path: path,
                dataset: nil,
                label: label,
                task: task,
                format: format,
                client: client,
                options: options
            )
            return (rows.inline.map { .inline($0) } ?? .dataset(rows.dataset ?? ""), rows.uploaded)
        }
        if task != .regression, !isText(table, labelName) {
            table = try read(path: path, format: format, missing: missing, textColumns: text.union([labelName]))
        }
        let labelledTable = V1.LabelledTable(table, labelColumn: labelName)
        let uploaded = try await stage(labelledTable, table, client: client, options: options)
        return (uploaded.map { .dataset($0) } ?? .table(labelledTable), uploaded)
    }

    /// Reads a labelled CSV as a table: the label column is `label`, else the last; classification
    /// labels are read as text (so `02` stays `02`).
    static func labelled(
        path: String,
        label: String?,
        classification: Bool,
        format: CSVFormat,
        missing: Set<String>,
        textColumns: Set<String>
    ) throws -> (table: DataTable, label: String) {
        var text = textColumns
        if classification, let label { text.insert(label) }
        var table = try read(path: path, format: format, missing: missing, textColumns: text)
        let labelName = try labelColumn(table, label: label)
        if classification, !isText(table, labelName) {
            table = try read(path: path, format: format, missing: missing, textColumns: text.union([labelName]))
        }
        return (table, labelName)
    }

    /// Whether a column was read as text (class labels must be, so `02` stays `02`).
    private static func isText(_ table: DataTable, _ name: String) -> Bool {
        if case .strings? = table.column(named: name)?.values { true } else { false }
    }

    /// A temporary upload of a table too large to ride in one frame; nil when it fits inline.
    /// - Returns: The dataset's name, to delete after the call.
    static func stage(
        _ labelled: V1.LabelledTable,
        _ table: DataTable,
        client: ModelwireClient,
        options: ModelwireClient.CallOptions
    ) async throws -> String? {
        guard estimatedBytes(table) > DataInput.inlineLimitBytes else { return nil }
        let name = "cli-upload-\(UInt32.random(in: .min ... .max))"
        _ = try await client.uploadDataset(name: name, table: labelled, replace: true, options: options)
        return name
    }
}
