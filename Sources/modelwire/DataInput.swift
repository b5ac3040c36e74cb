import ArgumentParser
import ModelwireClient
import ModelwireCodec
import ModelwireData
import ModelwireDataWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `--delimiter` and `--no-header`: how the CSV of `--data` is laid out (ModelwireData's `CSVFormat`).
struct CSVInputOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The CSV's field delimiter: , ; tab or another punctuation character "
                + "(default: detected from the first line, among , ; and tab).",
            valueName: "char"
        )
    )
    var delimiter: String?

    @Flag(
        help:
            "The CSV has no header row: its columns are named f1, f2, ... (a label is the last column unless --label fN)."
    )
    var noHeader = false

    func validate() throws {
        if let delimiter, CSVDelimiter(delimiter) == nil {
            throw ValidationError(
                "--delimiter: '\(delimiter)' is not a delimiter: give , ; tab or one punctuation character"
            )
        }
    }

    var format: CSVFormat { CSVFormat(delimiter: self.delimiter.flatMap(CSVDelimiter.init), hasHeader: !self.noHeader) }
}

/// CSV files (or stdin) in, wire datasets and tensors out: ModelwireData reads the CSV,
/// ModelwireDataWire maps it to the wire, as on the server.
enum DataInput {
    /// Inline data above this many encoded bytes goes through UploadDataset (a temporary
    /// dataset, deleted afterwards) instead of riding in the call, which must fit one frame.
    static let inlineLimitBytes = 8 << 20

    /// Loads a labelled CSV (header row unless `format` says none; label column by name or the last).
    /// - Parameters:
    ///   - path: A file, or `-` for stdin.
    ///   - standardInput: Reads stdin (replaced in tests).
    static func labelled(
        path: String,
        label: String?,
        task: V1.Task,
        format: CSVFormat = .standard,
        standardInput: () throws -> [UInt8] = DataInput.standardInput
    ) throws -> V1.Dataset {
        let options = Dataset.CSVOptions(
            labelColumn: label,
            task: task == .regression ? .regression : .classification,
            format: format
        )
        let dataset =
            path == "-"
            ? try Dataset(csvBytes: try standardInput(), options: options)
            : try Dataset(contentsOfCSV: path, options: options)
        return V1.Dataset(dataset)
    }

    static func estimatedBytes(_ dataset: V1.Dataset) -> Int {
        (dataset.features?.values.count ?? 0) * 4 + dataset.classIds.count * 2 + dataset.targets.count * 4
    }

    /// All of stdin.
    /// - Throws: `CLIError` `cannot read stdin: REASON`.
    static func standardInput() throws -> [UInt8] {
        do { return try readAll(STDIN_FILENO, path: "stdin") } catch { throw CLIError(error.description) }
    }

    /// Feature rows for predict from a CSV file or stdin (`-`), in the model's column order.
    static func features(
        path: String,
        model: V1.ModelVersionInfo,
        labelColumn: String?,
        format: CSVFormat = .standard,
        standardInput: () throws -> [UInt8] = DataInput.standardInput
    ) throws -> FeatureRows {
        try self.features(
            csvBytes: path == "-" ? try standardInput() : try readFile(path),
            model: model,
            labelColumn: labelColumn,
            format: format
        )
    }

    /// Feature rows for predict from CSV bytes, in the model's column order (`FeatureRows.modelColumns`):
    /// by the model's feature names when the header has them all (any label or extra column is
    /// ignored); otherwise the model's column count, or one more, whose extra column (`--label`,
    /// else one named label/target/class, else the last) is the label and is ignored.
    /// - Throws: `CLIError` naming the line and column of a bad value, or the column counts.
    static func features(
        csvBytes: [UInt8],
        model: V1.ModelVersionInfo,
        labelColumn: String?,
        format: CSVFormat = .standard
    ) throws -> FeatureRows {
        let expected = Int(model.inputColumns)
        do {
            return try FeatureRows(csvBytes: csvBytes, format: format) { header throws(DatasetError) in
                guard
                    let columns = FeatureRows.modelColumns(
                        header: header,
                        featureNames: model.featureNames,
                        featureCount: expected,
                        labelColumn: labelColumn
                    )
                else {
                    throw DatasetError(
                        .wrongColumnCount,
                        line: 1,
                        message:
                            "the input has \(header.count) columns; model '\(model.name)' version \(model.version) expects "
                            + "\(expected) features (optionally plus a label column)"
                    )
                }
                return columns
            }
        } catch {
            throw CLIError(error.message)
        }
    }

    /// `features(csvBytes:...)` of text, as rows and values.
    static func features(
        csv: String,
        model: V1.ModelVersionInfo,
        labelColumn: String?,
        format: CSVFormat = .standard
    ) throws -> (rows: Int, values: [Float]) {
        let rows = try self.features(csvBytes: Array(csv.utf8), model: model, labelColumn: labelColumn, format: format)
        return (rows.rows, rows.values)
    }

    /// A job's labelled rows, from `--data PATH` or `--dataset NAME`: the rows to send inline, or
    /// the dataset to name (`uploaded` when it is a temporary upload of PATH, too large for one
    /// frame, to delete afterwards).
    static func jobRows(
        path: String?,
        dataset: String?,
        label: String?,
        task: V1.Task,
        format: CSVFormat,
        client: ModelwireClient,
        options: ModelwireClient.CallOptions
    ) async throws -> (inline: V1.Dataset?, dataset: String?, uploaded: String?) {
        guard let path else { return (nil, dataset, nil) }
        let rows = try labelled(path: path, label: label, task: task, format: format)
        let uploaded = try await stage(rows, client: client, options: options)
        return (uploaded == nil ? rows : nil, uploaded, uploaded)
    }

    /// Where a call's rows come from: inline, or uploaded first when too large for one frame.
    /// - Returns: The dataset name to reference (nil = send inline) and whether to delete it afterwards.
    static func stage(
        _ dataset: V1.Dataset,
        client: ModelwireClient,
        options: ModelwireClient.CallOptions
    )
        async throws -> String?
    {
        guard estimatedBytes(dataset) > inlineLimitBytes else { return nil }
        let name = "cli-upload-\(UInt32.random(in: .min ... .max))"
        _ = try await client.uploadDataset(name: name, dataset: dataset, replace: true, options: options)
        return name
    }
}
