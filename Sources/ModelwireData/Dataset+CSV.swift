import Foundation

extension Dataset {
    /// What the CSV reader should do with the label column.
    public struct CSVOptions: Sendable, Hashable {
        /// What the label column holds.
        public enum Task: Sendable, Hashable {
            /// Class labels (names or integers).
            case classification
            /// Real-valued targets.
            case regression
        }

        /// The label column's header name; `nil` means the last column.
        public var labelColumn: String?
        /// Whether labels are classes or real values.
        public var task: Task

        /// Creates options.
        /// - Parameters:
        ///   - labelColumn: The label column's name, or `nil` for the last column.
        ///   - task: Classification (the default) or regression.
        public init(labelColumn: String? = nil, task: Task = .classification) {
            self.labelColumn = labelColumn
            self.task = task
        }

        /// The last column holds class labels.
        public static let defaults = CSVOptions()
    }

    /// Reads a CSV file: see ``init(csv:options:)``.
    /// - Parameters:
    ///   - path: The file's path.
    ///   - options: Which column is the label and what it holds.
    /// - Throws: `DatasetError` naming the line and column of the first bad value.
    public init(contentsOfCSV path: String, options: CSVOptions = .defaults) throws(DatasetError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DatasetError(.unreadableFile, message: "cannot read \(path)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DatasetError(.unreadableFile, message: "\(path) is not UTF-8 text")
        }
        try self.init(csv: text, options: options)
    }

    /// Parses CSV text: a header row of column names, then one row per sample, comma separated,
    /// no quoting. Every column except the label must be a finite number.
    ///
    /// Class labels may be names or integers. Class ids follow sorted order: numerically when
    /// every label is an integer (`2` before `10`), otherwise by the names' Unicode order,
    /// which is the order scikit-learn's `np.unique` gives. Blank lines are skipped; `\r\n`
    /// line ends and spaces around fields are accepted.
    /// - Parameters:
    ///   - csv: The text.
    ///   - options: Which column is the label and what it holds.
    /// - Throws: `DatasetError` with `.emptyFile`, `.missingLabelColumn`, `.wrongColumnCount`,
    ///   `.nonNumeric`, `.nonFinite` (line and column set) or `.singleClass`.
    public init(csv: String, options: CSVOptions = .defaults) throws(DatasetError) {
        var lines = csv.split(separator: "\n", omittingEmptySubsequences: false).enumerated().lazy
            .map { (number: $0.offset + 1, text: $0.element.trimmingCharacters(in: .whitespacesAndNewlines)) }
            .filter { !$0.text.isEmpty }
            .makeIterator()
        guard let header = lines.next() else {
            throw DatasetError(.emptyFile, message: "the file is empty: expected a header row")
        }
        let names = header.text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        let labelIndex: Int
        if let wanted = options.labelColumn {
            guard let found = names.firstIndex(of: wanted) else {
                throw DatasetError(.missingLabelColumn, line: header.number,
                                   message: "no column named '\(wanted)' in the header (\(names.joined(separator: ", ")))")
            }
            labelIndex = found
        } else {
            labelIndex = names.count - 1
        }
        guard names.count >= 2 else {
            throw DatasetError(.wrongColumnCount, line: header.number,
                               message: "line \(header.number): the header needs at least one feature and a label")
        }

        var features = [Float]()
        var labels = [Substring]()
        var count = 0
        while let line = lines.next() {
            let fields = line.text.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == names.count else {
                throw DatasetError(.wrongColumnCount, line: line.number,
                                   message: "line \(line.number): \(fields.count) fields, the header has \(names.count)")
            }
            for (column, field) in fields.enumerated() {
                if column == labelIndex {
                    labels.append(field.trimmingWhitespace())
                    continue
                }
                features.append(try Self.number(field, line: line.number, column: column + 1, name: names[column]))
            }
            count += 1
        }
        guard count > 0 else {
            throw DatasetError(.emptyFile, message: "the file has a header and no data rows")
        }
        var featureNames = names
        featureNames.remove(at: labelIndex)

        switch options.task {
        case .regression:
            var values = [Float]()
            values.reserveCapacity(labels.count)
            for (row, label) in labels.enumerated() {
                values.append(try Self.number(label, line: nil, column: labelIndex + 1, name: names[labelIndex], row: row))
            }
            self.init(featureNames: featureNames, features: features, targets: .values(values))
        case .classification:
            let distinct = Set(labels)
            guard distinct.count >= 2 else {
                throw DatasetError(.singleClass, column: labelIndex + 1,
                                   message: "column \(labelIndex + 1) ('\(names[labelIndex])') holds a single class ('\(labels[0])'): classification needs two or more")
            }
            let classNames = Self.sortedClassNames(distinct)
            let id = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { (Substring($0.element), $0.offset) })
            self.init(featureNames: featureNames, features: features,
                      targets: .classes(names: classNames, ids: labels.map { id[$0]! }))
        }
    }

    /// Sorted class names: numerically when all are integers, otherwise by Unicode order.
    static func sortedClassNames(_ labels: Set<Substring>) -> [String] {
        let integers = labels.compactMap { Int($0) }
        if integers.count == labels.count {
            return integers.sorted().map(String.init)
        }
        return labels.map(String.init).sorted()
    }

    private static func number(_ field: Substring, line: Int?, column: Int, name: String,
                               row: Int? = nil) throws(DatasetError) -> Float {
        let text = field.trimmingWhitespace()
        let place = line.map { "line \($0), column \(column) ('\(name)')" }
            ?? "data row \(row! + 1), column \(column) ('\(name)')"
        guard let value = Float(text) else {
            throw DatasetError(.nonNumeric, line: line, column: column, message: "\(place): '\(text)' is not a number")
        }
        guard value.isFinite else {
            throw DatasetError(.nonFinite, line: line, column: column, message: "\(place): '\(text)' is not finite")
        }
        return value
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
