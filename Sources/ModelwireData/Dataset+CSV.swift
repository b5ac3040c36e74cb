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

        /// The label column's header name (`fN` without a header); `nil` means the last column.
        public var labelColumn: String?
        /// Whether labels are classes or real values.
        public var task: Task
        /// The delimiter (or its detection) and whether the file has a header row.
        public var format: CSVFormat

        /// Creates options.
        /// - Parameters:
        ///   - labelColumn: The label column's name, or `nil` for the last column.
        ///   - task: Classification (the default) or regression.
        ///   - format: The delimiter and header; by default a header row and a detected delimiter.
        public init(labelColumn: String? = nil, task: Task = .classification, format: CSVFormat = .standard) {
            self.labelColumn = labelColumn
            self.task = task
            self.format = format
        }

        /// The last column holds class labels.
        public static let defaults = CSVOptions()
    }

    /// Reads a CSV file: see ``init(csv:options:)``.
    /// - Parameters:
    ///   - path: The file's path.
    ///   - options: Which column is the label, what it holds, and the file's layout.
    /// - Throws: `DatasetError`: `.unreadableFile` with the reason (`cannot read x.csv: no such file`),
    ///   or the first problem of the text, naming its line and column.
    public init(contentsOfCSV path: String, options: CSVOptions = .defaults) throws(DatasetError) {
        try self.init(terminated: try readFileBytes(path, extraZero: true), options: options)
    }

    /// Parses CSV text (RFC 4180, see ``CSVFormat``): a header row of column names (or, with
    /// `hasHeader: false`, columns named `f1`, `f2`, ...), then one row per sample. Every
    /// column except the label must be a finite number.
    ///
    /// The delimiter is given or detected among `,` `;` and tab. Fields may be quoted, with
    /// `""` for a quote and delimiters or line breaks inside; a UTF-8 byte order mark, blank
    /// lines, `\r\n` line ends and spaces around fields are accepted. Header names are
    /// trimmed and must be distinct; a header of numbers only is refused, since such a file
    /// seems to have no header.
    ///
    /// Class labels may be names or integers. Class ids follow sorted order: numerically when
    /// every label is an integer (`2` before `10`), otherwise by the names' Unicode order,
    /// which is the order scikit-learn's `np.unique` gives.
    /// - Parameters:
    ///   - csv: The text.
    ///   - options: Which column is the label, what it holds, and the text's layout.
    /// - Throws: `DatasetError` with `.emptyFile`, `.missingLabelColumn`, `.duplicateName`,
    ///   `.numericHeader`, `.malformedQuote`, `.wrongColumnCount`, `.nonNumeric`, `.nonFinite`
    ///   (line and column set where they apply) or `.singleClass`.
    public init(csv: String, options: CSVOptions = .defaults) throws(DatasetError) {
        var bytes = Array(csv.utf8)
        bytes.append(0)  // strtof stops at the terminator after the last field
        try self.init(terminated: bytes, options: options)
    }

    /// Parses CSV bytes (UTF-8, e.g. read from stdin): see ``init(csv:options:)``.
    /// - Parameters:
    ///   - csvBytes: The file's bytes.
    ///   - options: Which column is the label, what it holds, and the text's layout.
    /// - Throws: `DatasetError` as ``init(csv:options:)`` does.
    public init(csvBytes: [UInt8], options: CSVOptions = .defaults) throws(DatasetError) {
        var bytes = csvBytes
        bytes.append(0)
        try self.init(terminated: bytes, options: options)
    }

    /// Parses UTF-8 bytes that end with one extra 0 byte.
    private init(terminated bytes: [UInt8], options: CSVOptions) throws(DatasetError) {
        let parsed = try CSVParser.with(bytes, delimiter: options.format.delimiter) { parser throws(DatasetError) in
            try Self.labelledRows(&parser, options: options)
        }
        try self.init(parsed: parsed, options: options)
    }

    /// What the parser read: names, the label column, features, label texts and each row's line.
    private struct Parsed {
        var names: [String]
        var labelIndex: Int
        var features: [Float]
        var labels: [String]
        var lineNumbers: [Int]
    }

    private static func labelledRows(_ parser: inout CSVParser, options: CSVOptions) throws(DatasetError) -> Parsed {
        let hasHeader = options.format.hasHeader
        let (names, headerLine) = try parser.header(hasHeader: hasHeader)
        guard names.count >= 2 else {
            throw DatasetError(
                .wrongColumnCount,
                line: headerLine,
                message: "line \(headerLine): " + (hasHeader ? "the header" : "a row")
                    + " needs at least one feature and a label (delimiter '\(CSVDelimiter.name(parser.delimiter))')"
            )
        }
        let labelIndex: Int
        if let wanted = options.labelColumn {
            guard let found = names.firstIndex(of: wanted) else {
                throw DatasetError(
                    .missingLabelColumn,
                    line: headerLine,
                    message: "no column named '\(wanted)' in the header (\(names.joined(separator: ", ")))"
                )
            }
            labelIndex = found
        } else {
            labelIndex = names.count - 1
        }
        var output = Parsed(names: names, labelIndex: labelIndex, features: [], labels: [], lineNumbers: [])
        var fields = [CSVParser.Field]()
        var labelCache = [String: String]()  // interns repeated label texts
        while let line = try parser.nextRow(into: &fields) {
            guard fields.count == names.count else {
                throw parser.raggedRow(line: line, got: fields.count, expected: names.count, hasHeader: hasHeader)
            }
            for (column, field) in fields.enumerated() {
                if column == labelIndex {
                    let raw = parser.text(field)
                    if let interned = labelCache[raw] {
                        output.labels.append(interned)
                    } else {
                        labelCache[raw] = raw
                        output.labels.append(raw)
                    }
                    continue
                }
                guard let value = parser.finiteNumber(field) else {
                    throw parser.numberError(field, line: line, column: column + 1, names: names)
                }
                output.features.append(value)
            }
            output.lineNumbers.append(line)
        }
        guard !output.labels.isEmpty else {
            throw DatasetError(.emptyFile, message: "the file has a header and no data rows")
        }
        return output
    }

    private init(parsed: Parsed, options: CSVOptions) throws(DatasetError) {
        let (names, labelIndex, features, labels) = (parsed.names, parsed.labelIndex, parsed.features, parsed.labels)
        var featureNames = names
        featureNames.remove(at: labelIndex)
        switch options.task {
        case .regression:
            var values = [Float]()
            values.reserveCapacity(labels.count)
            for (row, label) in labels.enumerated() {
                guard let value = Float(label) else {
                    throw DatasetError(
                        .nonNumeric,
                        line: parsed.lineNumbers[row],
                        column: labelIndex + 1,
                        message:
                            "line \(parsed.lineNumbers[row]), column \(labelIndex + 1) ('\(names[labelIndex])'): '\(label)' is not a number"
                    )
                }
                guard value.isFinite else {
                    throw DatasetError(
                        .nonFinite,
                        line: parsed.lineNumbers[row],
                        column: labelIndex + 1,
                        message:
                            "line \(parsed.lineNumbers[row]), column \(labelIndex + 1) ('\(names[labelIndex])'): '\(label)' is not finite"
                    )
                }
                values.append(value)
            }
            self.init(featureNames: featureNames, features: features, targets: .values(values))
        case .classification:
            let distinct = Set(labels)
            guard distinct.count >= 2 else {
                throw DatasetError(
                    .singleClass,
                    column: labelIndex + 1,
                    message:
                        "column \(labelIndex + 1) ('\(names[labelIndex])') holds a single class ('\(labels[0])'): classification needs two or more"
                )
            }
            let classNames = Self.sortedClassNames(distinct)
            let id = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { ($0.element, $0.offset) })
            self.init(
                featureNames: featureNames,
                features: features,
                targets: .classes(names: classNames, ids: labels.map { id[$0]! })
            )
        }
    }

    /// Sorted class names: numerically when all are integers, otherwise by Unicode order.
    public static func sortedClassNames(_ labels: Set<String>) -> [String] {
        let integers = labels.compactMap { Int($0) }
        if integers.count == labels.count, Set(integers.map(String.init)) == labels {
            return integers.sorted().map(String.init)
        }
        return labels.sorted()
    }
}
