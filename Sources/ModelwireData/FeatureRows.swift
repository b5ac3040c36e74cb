/// Unlabelled rows of features read from CSV (rows to predict): some of the file's columns, in
/// a chosen order, flat and row-major.
public struct FeatureRows: Sendable, Equatable {
    /// The names of the chosen columns, in order.
    public var names: [String]
    /// The number of rows.
    public var rows: Int
    /// `rows * columns` values, row-major.
    public var values: [Float]
    /// The number of chosen columns.
    public var columns: Int { self.names.count }

    /// Creates rows, checking that the sizes agree.
    /// - Parameters:
    ///   - names: One name per column.
    ///   - values: `rows * names.count` values, row-major.
    /// - Precondition: `values.count` is a multiple of `names.count` (and `names` is not empty).
    public init(names: [String], values: [Float]) {
        precondition(!names.isEmpty && values.count % names.count == 0, "values must be rows x columns")
        self.names = names
        self.values = values
        self.rows = values.count / names.count
    }

    /// The values of one row.
    /// - Parameter row: A row index.
    /// - Returns: `columns` values.
    public func row(_ row: Int) -> ArraySlice<Float> {
        self.values[row * self.columns..<(row + 1) * self.columns]
    }

    /// Reads CSV bytes with ModelwireData's reader (RFC 4180, see ``CSVFormat``), keeping the
    /// columns that `choose` picks from the header, in the order it gives them. Every chosen
    /// field must be a finite number; other columns (a label) may hold anything.
    /// - Parameters:
    ///   - csvBytes: UTF-8 bytes (a file's, or stdin's).
    ///   - format: The delimiter and header; by default a header row and a detected delimiter.
    ///   - choose: Given the header's names (`f1`...`fn` without a header), the indices of the columns to keep.
    /// - Throws: `DatasetError` with `.emptyFile`, `.duplicateName`, `.numericHeader`, `.malformedQuote`,
    ///   `.wrongColumnCount`, `.nonNumeric` or `.nonFinite` (line and column set), or what `choose` throws.
    public init(
        csvBytes: [UInt8],
        format: CSVFormat = .standard,
        columns choose: ([String]) throws(DatasetError) -> [Int]
    ) throws(DatasetError) {
        var bytes = csvBytes
        bytes.append(0)  // strtof stops at the terminator after the last field
        let (names, values) = try CSVParser.with(bytes, delimiter: format.delimiter) {
            parser throws(DatasetError) -> ([String], [Float]) in
            let (header, _) = try parser.header(hasHeader: format.hasHeader)
            let columns = try choose(header)
            precondition(!columns.isEmpty && columns.allSatisfy { header.indices.contains($0) }, "columns out of range")
            var values = [Float]()
            var fields = [CSVParser.Field]()
            while let line = try parser.nextRow(into: &fields) {
                guard fields.count == header.count else {
                    throw parser.raggedRow(
                        line: line,
                        got: fields.count,
                        expected: header.count,
                        hasHeader: format.hasHeader
                    )
                }
                for column in columns {
                    guard let value = parser.finiteNumber(fields[column]) else {
                        throw parser.numberError(fields[column], line: line, column: column + 1, names: header)
                    }
                    values.append(value)
                }
            }
            guard !values.isEmpty else {
                throw DatasetError(.emptyFile, message: "the file has a header and no data rows")
            }
            return (columns.map { header[$0] }, values)
        }
        self.init(names: names, values: values)
    }

    /// Reads a CSV file: see ``init(csvBytes:format:columns:)``.
    /// - Throws: `DatasetError`: `.unreadableFile` with the reason, or as ``init(csvBytes:format:columns:)``.
    public init(
        contentsOfCSV path: String,
        format: CSVFormat = .standard,
        columns choose: ([String]) throws(DatasetError) -> [Int]
    ) throws(DatasetError) {
        try self.init(csvBytes: try readFileBytes(path), format: format, columns: choose)
    }

    /// The columns of a header that feed a model, in the model's order, or `nil` when no rule fits:
    /// 1. by name, when the model has feature names and the header has them all (a label or
    ///    any extra column is ignored);
    /// 2. all columns, when the header has exactly the model's feature count;
    /// 3. all but one, when it has one more: the label, which is `labelColumn` if given and
    ///    present, else a column named `label`, `target` or `class` (any case), else the last.
    /// - Parameters:
    ///   - header: The file's column names.
    ///   - featureNames: The model's feature names (may be empty).
    ///   - featureCount: The model's number of input columns.
    ///   - labelColumn: The label column's name, if the caller knows it.
    /// - Returns: Column indices into `header`.
    public static func modelColumns(
        header: [String],
        featureNames: [String],
        featureCount: Int,
        labelColumn: String?
    ) -> [Int]? {
        if !featureNames.isEmpty, Set(featureNames).isSubset(of: Set(header)) {
            let index = Dictionary(header.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
            return featureNames.map { index[$0]! }
        }
        guard featureCount > 0 else { return nil }
        if header.count == featureCount { return Array(0..<featureCount) }
        if header.count == featureCount + 1 {
            let label =
                labelColumn.flatMap { header.firstIndex(of: $0) }
                ?? ["label", "target", "class"].lazy.compactMap { wanted in
                    header.firstIndex { $0.lowercased() == wanted }
                }.first
                ?? header.count - 1
            return (0..<header.count).filter { $0 != label }
        }
        return nil
    }
}
