extension DataTable {
    /// The texts that mark a missing value: empty, `NA`, `N/A`, `NaN`, `nan`, `null`, `NULL`, `None` and `?`.
    public static let defaultMissingTokens: Set<String> = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?"]

    /// Reads CSV bytes (RFC 4180, see ``CSVFormat``) into typed columns, inferring each column's
    /// type from its present values: all `true` / `false` (any case) make booleans, all finite
    /// numbers make floats, anything else text. A column with no present value is floats, all
    /// missing (text if it is one of `textColumns`).
    ///
    /// A field is missing when its text (trimmed) is one of `missingTokens`, or when it is a
    /// quoted empty field (`""`).
    /// - Parameters:
    ///   - csvBytes: UTF-8 bytes (a file's, or stdin's).
    ///   - format: The delimiter and header; by default a header row and a detected delimiter.
    ///   - missingTokens: The texts that mean "missing"; by default ``defaultMissingTokens``.
    ///   - textColumns: Columns always read as text, e.g. a label or categorical codes (`02134`
    ///     keeps its zero); names the header lacks are ignored.
    /// - Throws: `DatasetError` as the `Dataset` reader: `.emptyFile`, `.duplicateName`,
    ///   `.numericHeader`, `.malformedQuote`, `.wrongColumnCount` (line and column set).
    public init(
        csvBytes: [UInt8],
        format: CSVFormat = .standard,
        missingTokens: Set<String> = DataTable.defaultMissingTokens,
        textColumns: Set<String> = []
    ) throws(DatasetError) {
        var bytes = csvBytes
        bytes.append(0)  // strtof stops at the terminator after the last field
        let columns = try CSVParser.with(bytes, delimiter: format.delimiter) {
            parser throws(DatasetError) -> [Column] in
            let (names, _) = try parser.header(hasHeader: format.hasHeader)
            var readers = names.map { ColumnReader(text: textColumns.contains($0)) }
            var fields = [CSVParser.Field]()
            var rows = 0
            while let line = try parser.nextRow(into: &fields) {
                guard fields.count == names.count else {
                    throw parser.raggedRow(
                        line: line,
                        got: fields.count,
                        expected: names.count,
                        hasHeader: format.hasHeader
                    )
                }
                for (column, field) in fields.enumerated() {
                    let text = parser.text(field)
                    if missingTokens.contains(text) || (field.quoted && text.isEmpty) {
                        readers[column].appendMissing(row: rows)
                    } else {
                        let number = readers[column].floats == nil ? nil : parser.finiteNumber(field)
                        readers[column].append(text, number: number)
                    }
                }
                rows += 1
            }
            guard rows > 0 else {
                throw DatasetError(.emptyFile, message: "the file has a header and no data rows")
            }
            return zip(names, readers).map { name, reader in reader.column(name: name) }
        }
        try self.init(columns: columns)
    }

    /// Reads a CSV file: see ``init(csvBytes:format:missingTokens:textColumns:)``.
    /// - Throws: `DatasetError`: `.unreadableFile` with the reason, or as
    ///   ``init(csvBytes:format:missingTokens:textColumns:)``.
    public init(
        contentsOfCSV path: String,
        format: CSVFormat = .standard,
        missingTokens: Set<String> = DataTable.defaultMissingTokens,
        textColumns: Set<String> = []
    ) throws(DatasetError) {
        try self.init(
            csvBytes: try readFileBytes(path),
            format: format,
            missingTokens: missingTokens,
            textColumns: textColumns
        )
    }
}

/// One CSV column as it is read: every field's text once, and the floats and booleans it may
/// turn out to hold, kept only while every present value fits.
private struct ColumnReader {
    var texts = [String]()
    var missing = [Bool]()
    var floats: [Float]?
    var bools: [Bool]?
    var present = 0

    init(text: Bool) {
        self.floats = text ? nil : []
        self.bools = text ? nil : []
    }

    mutating func appendMissing(row: Int) {
        if self.missing.isEmpty { self.missing = [Bool](repeating: false, count: row) }
        self.missing.append(true)
        self.texts.append("")
        self.floats?.append(0)
        self.bools?.append(false)
    }

    mutating func append(_ text: String, number: Float?) {
        if !self.missing.isEmpty { self.missing.append(false) }
        self.texts.append(text)
        self.present += 1
        if self.floats != nil {
            if let number { self.floats?.append(number) } else { self.floats = nil }
        }
        if self.bools != nil {
            if let flag = Self.bool(text) { self.bools?.append(flag) } else { self.bools = nil }
        }
    }

    /// `true` or `false` in any case, else `nil`.
    private static func bool(_ text: String) -> Bool? {
        let utf8 = text.utf8
        guard utf8.count == 4 || utf8.count == 5 else { return nil }
        // `| 0x20` lowers ASCII letters; no other byte becomes a lower-case letter of `true` or `false`.
        if utf8.elementsEqual("true".utf8, by: { $0 | 0x20 == $1 }) { return true }
        if utf8.elementsEqual("false".utf8, by: { $0 | 0x20 == $1 }) { return false }
        return nil
    }

    func column(name: String) -> DataTable.Column {
        let values: DataTable.Values
        if let bools = self.bools, self.present > 0 {
            values = .bools(bools)
        } else if let floats = self.floats {  // all missing: floats too
            values = .floats(floats)
        } else {
            values = .strings(self.texts)
        }
        return DataTable.Column(name: name, values: values, missing: self.missing)
    }
}
