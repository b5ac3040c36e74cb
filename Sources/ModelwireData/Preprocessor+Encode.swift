extension Preprocessor {
    /// The encoded feature names, in order: a numeric or ordinal column's name; `name=category`
    /// per one-hot category, then `name=(other)` when the column has one; `name (missing)` for
    /// an indicator.
    public var featureNames: [String] {
        self.columns.flatMap { column -> [String] in
            var names: [String]
            switch column.kind {
            case .numeric:
                names = [column.name]
            case .categorical(let categories, let other, _):
                switch self.encoding {
                case .ordinal: names = [column.name]
                case .oneHot:
                    names = categories.map { "\(column.name)=\($0)" } + (other ? ["\(column.name)=(other)"] : [])
                }
            }
            if column.indicator { names.append("\(column.name) (missing)") }
            return names
        }
    }

    /// Per raw column (in ``columns``' order), the range of its encoded features.
    public var featureGroups: [Range<Int>] {
        var start = 0
        return self.columns.map { column in
            let width = self.ownWidth(column) + (column.indicator ? 1 : 0)
            defer { start += width }
            return start..<start + width
        }
    }

    /// The number of features a column produces, its indicator left out.
    private func ownWidth(_ column: Column) -> Int {
        switch column.kind {
        case .numeric: 1
        case .categorical(let categories, let other, _):
            self.encoding == .oneHot ? categories.count + (other ? 1 : 0) : 1
        }
    }

    /// Encodes rows of raw columns (matched by name; extra columns are ignored) into `rows x featureNames.count` floats.
    ///
    /// A numeric column takes floats, integers, booleans (0 / 1) or text that parses as numbers;
    /// a categorical one takes text, or numbers and booleans through their text (`3`, `2.5`,
    /// `true`). Missing values become the column's fill; a fill outside the categories, an
    /// unknown category under ``UnknownCategoryPolicy/ignore``, and any value outside the kept
    /// categories of a column with "other" are no category: one-hot all 0 (or "other" 1 when the
    /// column has it), ordinal -1.
    /// - Throws: `DatasetError` naming the column: `.missingColumn`, `.columnType` (text in a
    ///   numeric column), `.nonFinite`, `.unknownCategory` (with the row and known categories).
    public func encode(_ table: DataTable) throws(DatasetError) -> [Float] {
        let index = Dictionary(table.columns.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        let groups = self.featureGroups
        let width = groups.last?.upperBound ?? 0
        var output = [Float](repeating: 0, count: table.rows * width)
        for (column, group) in zip(self.columns, groups) {
            guard let position = index[column.name] else {
                throw DatasetError(
                    .missingColumn,
                    message: "the table has no column '\(column.name)' "
                        + "(the model takes \(self.columns.map(\.name).joined(separator: ", ")))"
                )
            }
            let raw = table.columns[position]
            switch column.kind {
            case .numeric(let fill):
                try Self.encodeNumeric(
                    raw,
                    name: column.name,
                    fill: fill,
                    into: &output,
                    at: group.lowerBound,
                    width: width
                )
            case .categorical(let categories, let other, let fill):
                try self.encodeCategorical(
                    raw,
                    name: column.name,
                    categories: categories,
                    other: other,
                    fill: fill,
                    into: &output,
                    at: group.lowerBound,
                    width: width
                )
            }
            if column.indicator {
                let slot = group.upperBound - 1
                for row in 0..<table.rows where raw.isMissing(row) { output[row * width + slot] = 1 }
            }
        }
        return output
    }

    private static func encodeNumeric(
        _ raw: DataTable.Column,
        name: String,
        fill: Float,
        into output: inout [Float],
        at offset: Int,
        width: Int
    ) throws(DatasetError) {
        for row in 0..<raw.values.count {
            let slot = row * width + offset
            if raw.isMissing(row) {
                output[slot] = fill
                continue
            }
            guard let value = raw.values.number(at: row) else {
                throw DatasetError(
                    .columnType,
                    message: "column '\(name)' holds text ('\(raw.values.text(at: row))', row \(row + 1)) "
                        + "but the model takes numbers"
                )
            }
            guard value.isFinite else {
                throw DatasetError(
                    .nonFinite,
                    message: "column '\(name)', row \(row + 1): '\(raw.values.text(at: row))' is not finite"
                )
            }
            output[slot] = value
        }
    }

    private func encodeCategorical(
        _ raw: DataTable.Column,
        name: String,
        categories: [String],
        other: Bool,
        fill: String,
        into output: inout [Float],
        at offset: Int,
        width: Int
    ) throws(DatasetError) {
        let known = Dictionary(categories.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        let lookup = CategoryLookup(raw.values, known: known)
        let fillIndex = known[fill]
        let refuseUnknown = self.unknownCategories == .error && !other
        for row in 0..<raw.values.count {
            let category: Int?
            if raw.isMissing(row) {
                category = fillIndex
            } else {
                category = lookup.index(row)
                if category == nil, refuseUnknown {
                    let shown = categories.prefix(10).joined(separator: ", ") + (categories.count > 10 ? ", ..." : "")
                    throw DatasetError(
                        .unknownCategory,
                        message: "column '\(name)', row \(row + 1): '\(raw.values.text(at: row))' is not a category "
                            + "seen in training (\(categories.count) known: \(shown))"
                    )
                }
            }
            let slot = row * width + offset
            switch self.encoding {
            case .ordinal:
                output[slot] = category.map(Float.init) ?? -1
            case .oneHot:
                if let category {
                    output[slot + category] = 1
                } else if other {
                    output[slot + categories.count] = 1
                }
            }
        }
    }
}

/// A categorical column's category index per row, with the category texts turned into the
/// column's own value type once, so rows are looked up without building their text.
private enum CategoryLookup {
    case strings([String], [String: Int])
    case ints([Int64], [Int64: Int])
    case floats([Float], [Float: Int])
    case bools([Bool], true: Int?, false: Int?)

    init(_ values: DataTable.Values, known: [String: Int]) {
        switch values {
        case .strings(let v):
            self = .strings(v, known)
        case .ints(let v):
            var byValue = [Int64: Int]()
            for (text, i) in known {
                if let value = Int64(text), String(value) == text { byValue[value] = i }
            }
            self = .ints(v, byValue)
        case .floats(let v):
            var byValue = [Float: Int]()
            for (text, i) in known {
                if let value = Float(text), DataTable.Values.text(of: value) == text { byValue[value] = i }
            }
            self = .floats(v, byValue)
        case .bools(let v):
            self = .bools(v, true: known["true"], false: known["false"])
        }
    }

    /// The category index of a present value, or `nil` when it is not a known category.
    func index(_ row: Int) -> Int? {
        switch self {
        case .strings(let v, let known): known[v[row]]
        case .ints(let v, let known): known[v[row]]
        case .floats(let v, let known): known[v[row]]
        case .bools(let v, let yes, let no): v[row] ? yes : no
        }
    }
}
