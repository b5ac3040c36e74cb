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
        guard let bytes = readFileBytes(path, extraZero: true) else {
            throw DatasetError(.unreadableFile, message: "cannot read \(path)")
        }
        try self.init(csvBytes: bytes, options: options)
    }

    /// Parses CSV text: a header row of column names, then one row per sample, comma separated,
    /// no quoting. Every column except the label must be a finite number.
    ///
    /// Class labels may be names or integers. Class ids follow sorted order: numerically when
    /// every label is an integer (`2` before `10`), otherwise by the names' Unicode order,
    /// which is the order scikit-learn's `np.unique` gives. Blank lines are skipped; `\r\n`
    /// line ends and spaces or tabs around fields are accepted.
    /// - Parameters:
    ///   - csv: The text.
    ///   - options: Which column is the label and what it holds.
    /// - Throws: `DatasetError` with `.emptyFile`, `.missingLabelColumn`, `.wrongColumnCount`,
    ///   `.nonNumeric`, `.nonFinite` (line and column set) or `.singleClass`.
    public init(csv: String, options: CSVOptions = .defaults) throws(DatasetError) {
        var bytes = Array(csv.utf8)
        bytes.append(0)  // strtof stops at the terminator after the last field
        try self.init(csvBytes: bytes, options: options)
    }

    /// Parses UTF-8 bytes that end with one extra 0 byte.
    private init(csvBytes bytes: [UInt8], options: CSVOptions) throws(DatasetError) {
        let parsed = try bytes.withUnsafeBufferPointer { buffer throws(DatasetError) in
            try CSVParser(buffer, count: buffer.count - 1).parse(options: options)
        }
        try self.init(parsed: parsed, options: options)
    }

    private init(parsed: CSVParser.Output, options: CSVOptions) throws(DatasetError) {
        let (names, labelIndex, features, labels) = (parsed.names, parsed.labelIndex, parsed.features, parsed.labels)
        var featureNames = names
        featureNames.remove(at: labelIndex)
        switch options.task {
        case .regression:
            var values = [Float]()
            values.reserveCapacity(labels.count)
            for (row, label) in labels.enumerated() {
                guard let value = Float(label) else {
                    throw DatasetError(.nonNumeric, line: parsed.lineNumbers[row], column: labelIndex + 1,
                                       message: "line \(parsed.lineNumbers[row]), column \(labelIndex + 1) ('\(names[labelIndex])'): '\(label)' is not a number")
                }
                guard value.isFinite else {
                    throw DatasetError(.nonFinite, line: parsed.lineNumbers[row], column: labelIndex + 1,
                                       message: "line \(parsed.lineNumbers[row]), column \(labelIndex + 1) ('\(names[labelIndex])'): '\(label)' is not finite")
                }
                values.append(value)
            }
            self.init(featureNames: featureNames, features: features, targets: .values(values))
        case .classification:
            let distinct = Set(labels)
            guard distinct.count >= 2 else {
                throw DatasetError(.singleClass, column: labelIndex + 1,
                                   message: "column \(labelIndex + 1) ('\(names[labelIndex])') holds a single class ('\(labels[0])'): classification needs two or more")
            }
            let classNames = Self.sortedClassNames(distinct)
            let id = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { ($0.element, $0.offset) })
            self.init(featureNames: featureNames, features: features,
                      targets: .classes(names: classNames, ids: labels.map { id[$0]! }))
        }
    }

    /// Sorted class names: numerically when all are integers, otherwise by Unicode order.
    static func sortedClassNames(_ labels: Set<String>) -> [String] {
        let integers = labels.compactMap { Int($0) }
        if integers.count == labels.count, Set(integers.map(String.init)) == labels {
            return integers.sorted().map(String.init)
        }
        return labels.sorted()
    }
}
