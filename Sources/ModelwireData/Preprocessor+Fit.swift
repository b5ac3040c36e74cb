extension Preprocessor {
    /// Fits a preprocessor on training columns (the label already removed).
    ///
    /// Float, integer and boolean columns (booleans as 0 / 1) are numeric unless listed in
    /// `options.categorical`; text columns are categorical unless listed in `options.numeric`.
    /// Missing values are counted as the fill they become, so with `.constant` categorical
    /// imputation the fill is a category of its own when the column had missing values.
    /// - Throws: `DatasetError` naming the column: `.missingColumn` (an option names a column the
    ///   table lacks), `.columnType` (a column both categorical and numeric, `maxCategories` below
    ///   2, mean or median categorical imputation), `.emptyFile` (every column dropped),
    ///   `.noValues`, `.nonNumeric` or `.nonFinite` (with the 1-based row).
    public static func fit(_ table: DataTable, options: Options) throws(DatasetError) -> Preprocessor {
        let names = Set(table.names)
        for (option, listed) in [
            ("categorical", options.categorical), ("numeric", options.numeric), ("drop", options.drop),
        ] {
            if let absent = listed.first(where: { !names.contains($0) }) {
                throw DatasetError(
                    .missingColumn,
                    message: "the \(option) option names column '\(absent)', which the table lacks "
                        + "(\(table.names.joined(separator: ", ")))"
                )
            }
        }
        let categorical = Set(options.categorical)
        let numeric = Set(options.numeric)
        if let both = options.categorical.first(where: numeric.contains) {
            throw DatasetError(.columnType, message: "column '\(both)' is listed as both categorical and numeric")
        }
        guard options.maxCategories >= 2 else {
            throw DatasetError(
                .columnType,
                message: "maxCategories is \(options.maxCategories): it must be at least 2 "
                    + "(a one-hot column keeps maxCategories - 1 categories and 'other')"
            )
        }
        if options.categoricalImputation == .mean || options.categoricalImputation == .median {
            throw DatasetError(
                .columnType,
                message: "categorical columns cannot be imputed with the mean or median: use most_frequent or constant"
            )
        }
        let kept = table.removing(Set(options.drop)).columns
        guard !kept.isEmpty else {
            throw DatasetError(.emptyFile, message: "every column of the table is dropped: no feature is left")
        }
        var columns = [Column]()
        for column in kept {
            let isNumeric: Bool
            if case .strings = column.values {
                isNumeric = numeric.contains(column.name)
            } else {
                isNumeric = !categorical.contains(column.name)
            }
            let (kind, missing) =
                isNumeric
                ? try Self.fitNumeric(column, rows: table.rows, options: options)
                : try Self.fitCategorical(column, rows: table.rows, options: options)
            columns.append(Column(name: column.name, kind: kind, indicator: options.missingIndicators && missing > 0))
        }
        return Preprocessor(columns: columns, encoding: options.encoding, unknownCategories: options.unknownCategories)
    }

    /// The error of a column without any present value.
    private static func noValues(_ column: DataTable.Column) -> DatasetError {
        DatasetError(.noValues, message: "column '\(column.name)' has no values: every row is missing")
    }

    /// A numeric column's kind, and its number of missing values.
    private static func fitNumeric(
        _ column: DataTable.Column,
        rows: Int,
        options: Options
    ) throws(DatasetError) -> (Column.Kind, Int) {
        var present = [Float]()
        present.reserveCapacity(rows)
        for row in 0..<rows where !column.isMissing(row) {
            guard let value = column.values.number(at: row) else {
                throw DatasetError(
                    .nonNumeric,
                    message: "column '\(column.name)', row \(row + 1): '\(column.values.text(at: row))' is not a number"
                )
            }
            guard value.isFinite else {
                throw DatasetError(
                    .nonFinite,
                    message: "column '\(column.name)', row \(row + 1): '\(column.values.text(at: row))' is not finite"
                )
            }
            present.append(value)
        }
        guard !present.isEmpty else { throw Self.noValues(column) }
        let fill: Float
        switch options.numericImputation {
        case .mean:
            fill = Float(present.reduce(0.0) { $0 + Double($1) } / Double(present.count))
        case .median:
            present.sort()
            let middle = present.count / 2
            fill =
                present.count % 2 == 1
                ? present[middle] : Float((Double(present[middle - 1]) + Double(present[middle])) / 2)
        case .mostFrequent:
            var counts = [Float: Int]()
            for value in present { counts[value, default: 0] += 1 }
            fill = counts.min { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }?.key ?? 0
        case .constant:
            fill = options.numericFill
        }
        return (.numeric(fill: fill), rows - present.count)
    }

    /// A categorical column's kind, and its number of missing values.
    private static func fitCategorical(
        _ column: DataTable.Column,
        rows: Int,
        options: Options
    ) throws(DatasetError) -> (Column.Kind, Int) {
        var counts = [String: Int]()
        var missing = 0
        for row in 0..<rows {
            if column.isMissing(row) {
                missing += 1
            } else {
                counts[column.values.text(at: row), default: 0] += 1
            }
        }
        guard !counts.isEmpty else { throw Self.noValues(column) }
        // Imputation comes first (as in a scikit-learn pipeline): the fill counts the missing rows.
        let fill: String
        if options.categoricalImputation == .constant {
            fill = options.categoricalFill
        } else {
            fill = Self.byFrequency(counts)[0]
        }
        if missing > 0 { counts[fill, default: 0] += missing }
        var categories = counts.keys.sorted()
        var other = false
        if options.encoding == .oneHot, categories.count > options.maxCategories {
            categories = Self.byFrequency(counts).prefix(options.maxCategories - 1).sorted()
            other = true
        }
        return (.categorical(categories: categories, other: other, fill: fill), missing)
    }

    /// Categories from the most frequent to the least (ties in sorted order).
    private static func byFrequency(_ counts: [String: Int]) -> [String] {
        counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
    }
}
