extension DataTable {
    /// Splits off the label column and reads its targets.
    ///
    /// Classification labels are the values' texts (integral floats as integers, `3`; booleans
    /// `true` / `false`), class ids following ``Dataset`` (numeric order when every label is an
    /// integer, else Unicode order). Regression labels are numbers (booleans 0 or 1; text must
    /// parse as a finite number).
    /// - Parameters:
    ///   - label: The label column's name.
    ///   - task: Whether the labels are classes or real values.
    /// - Returns: The other columns, and one target per row.
    /// - Throws: `DatasetError` naming the column: `.missingLabelColumn` (listing the table's
    ///   columns), `.wrongColumnCount` (no column beside the label), `.emptyFile` (no rows), `.missingValue` (a row
    ///   without a label), `.singleClass`, `.nonNumeric` or `.nonFinite` (with the 1-based row).
    public func labelled(
        by label: String,
        task: Dataset.CSVOptions.Task
    ) throws(DatasetError) -> (features: DataTable, targets: Dataset.Targets) {
        guard let column = self.column(named: label) else {
            throw DatasetError(
                .missingLabelColumn,
                message: "no column named '\(label)' in the table (\(self.names.joined(separator: ", ")))"
            )
        }
        guard self.columns.count >= 2 else {
            throw DatasetError(
                .wrongColumnCount,
                message: "the table holds only the label column '\(label)': it needs at least one feature beside it"
            )
        }
        guard self.rows > 0 else {
            throw DatasetError(.emptyFile, message: "the table has no rows: column '\(label)' holds no label")
        }
        if let row = (0..<self.rows).first(where: column.isMissing) {
            throw DatasetError(.missingValue, message: "column '\(label)', row \(row + 1): the label is missing")
        }
        let features = self.removing([label])
        switch task {
        case .regression:
            var values = [Float]()
            values.reserveCapacity(self.rows)
            for row in 0..<self.rows {
                guard let value = column.values.number(at: row) else {
                    throw DatasetError(
                        .nonNumeric,
                        message: "column '\(label)', row \(row + 1): '\(column.values.text(at: row))' is not a number"
                    )
                }
                guard value.isFinite else {
                    throw DatasetError(
                        .nonFinite,
                        message: "column '\(label)', row \(row + 1): '\(column.values.text(at: row))' is not finite"
                    )
                }
                values.append(value)
            }
            return (features, .values(values))
        case .classification:
            var ids = [Int]()
            ids.reserveCapacity(self.rows)
            var seen = [String: Int]()  // first-seen ids, renumbered in sorted order below
            for row in 0..<self.rows {
                let text = column.values.text(at: row)
                if let id = seen[text] {
                    ids.append(id)
                } else {
                    seen[text] = seen.count
                    ids.append(seen.count - 1)
                }
            }
            guard seen.count >= 2 else {
                throw DatasetError(
                    .singleClass,
                    message: "column '\(label)' holds a single class ('\(seen.keys.first ?? "")'): "
                        + "classification needs two or more"
                )
            }
            let names = Dataset.sortedClassNames(Set(seen.keys))
            var sortedID = [Int](repeating: 0, count: names.count)
            for (id, name) in names.enumerated() { sortedID[seen[name] ?? 0] = id }
            return (features, .classes(names: names, ids: ids.map { sortedID[$0] }))
        }
    }
}
