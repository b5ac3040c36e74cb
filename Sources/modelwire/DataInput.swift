import ModelwireClient
import ModelwireCodec
import ModelwireData

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CSV files in, wire datasets out.
enum DataInput {
    /// Inline data above this many encoded bytes goes through UploadDataset (a temporary
    /// dataset, deleted afterwards) instead of riding in the call, which must fit one frame.
    static let inlineLimitBytes = 8 << 20

    /// Loads a labelled CSV with ModelwireData (header row; label column by name or the last).
    static func labelled(path: String, label: String?, task: V1.Task) throws -> V1.Dataset {
        let options = Dataset.CSVOptions(labelColumn: label, task: task == .regression ? .regression : .classification)
        let dataset = try Dataset(contentsOfCSV: path, options: options)
        return wire(dataset)
    }

    /// A ModelwireData dataset as the wire's Dataset: class names as strings, class ids per row.
    static func wire(_ dataset: Dataset) -> V1.Dataset {
        var out = V1.Dataset(featureNames: dataset.featureNames,
                             features: V1.Tensor(columns: UInt32(dataset.columns), values: dataset.features))
        switch dataset.targets {
        case .classes(let names, let ids):
            out.classNames = names
            out.classIds = ids.map { UInt32($0) }
        case .values(let values):
            out.targets = values
        }
        return out
    }

    static func estimatedBytes(_ dataset: V1.Dataset) -> Int {
        (dataset.features?.values.count ?? 0) * 4 + dataset.classIds.count * 2 + dataset.targets.count * 4
    }

    /// Reads a whole file, or stdin for `-`.
    static func text(path: String) throws -> String {
        String(decoding: try readFile(path), as: UTF8.self)
    }

    /// Feature rows for predict from CSV text with a header, in the model's column order.
    ///
    /// Columns are chosen by the model's feature names when the header has them all (any label
    /// or extra column is ignored); otherwise the header must have exactly the model's column
    /// count, or one more, whose extra column (`--label`, else one named label/target/class, else the last) is the label and is ignored.
    static func features(csv: String, model: V1.ModelVersionInfo, labelColumn: String?) throws -> (rows: Int, values: [Float]) {
        // `\r\n` is one Character in Swift: split on every newline kind.
        var lines = csv.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        while let last = lines.last, last.allSatisfy({ $0 == " " || $0 == "\t" }) { lines.removeLast() }
        guard let header = lines.first else { throw CLIError("no header row: the input is empty") }
        let names = header.split(separator: ",", omittingEmptySubsequences: false).map { trim($0) }
        let expected = Int(model.inputColumns)
        var columns: [Int]
        if !model.featureNames.isEmpty, Set(model.featureNames).isSubset(of: Set(names)) {
            let index = Dictionary(names.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
            columns = model.featureNames.map { index[$0]! }
        } else if names.count == expected {
            columns = Array(0..<expected)
        } else if names.count == expected + 1 {
            let label = labelColumn.flatMap { names.firstIndex(of: $0) }
                ?? ["label", "target", "class"].lazy.compactMap { wanted in names.firstIndex { $0.lowercased() == wanted } }.first
                ?? names.count - 1
            columns = (0..<names.count).filter { $0 != label }
        } else {
            throw CLIError("the input has \(names.count) columns; model '\(model.name)' version \(model.version) expects \(expected) features (optionally plus a label column)")
        }
        var values: [Float] = []
        var rows = 0
        values.reserveCapacity(max(0, lines.count - 1) * columns.count)
        for (lineIndex, line) in lines.enumerated().dropFirst() {
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == names.count else {
                throw CLIError("line \(lineIndex + 1): \(fields.count) fields, the header has \(names.count)")
            }
            for column in columns {
                let text = trim(fields[column])
                guard let value = Float(text), value.isFinite else {
                    throw CLIError("line \(lineIndex + 1), column \(column + 1) ('\(names[column])'): '\(text)' is not a finite number")
                }
                values.append(value)
            }
            rows += 1
        }
        guard rows > 0 else { throw CLIError("no data rows after the header") }
        return (rows, values)
    }

    private static func trim(_ s: Substring) -> String {
        var t = s
        while let f = t.first, f == " " || f == "\t" { t = t.dropFirst() }
        while let l = t.last, l == " " || l == "\t" { t = t.dropLast() }
        return String(t)
    }

    /// Where a call's rows come from: inline, or uploaded first when too large for one frame.
    /// - Returns: The dataset name to reference (nil = send inline) and whether to delete it afterwards.
    static func stage(_ dataset: V1.Dataset, client: ModelwireClient, options: ModelwireClient.CallOptions)
        async throws -> String?
    {
        guard estimatedBytes(dataset) > inlineLimitBytes else { return nil }
        let name = "cli-upload-\(UInt32.random(in: .min ... .max))"
        _ = try await client.uploadDataset(name: name, dataset: dataset, replace: true, options: options)
        return name
    }
}
