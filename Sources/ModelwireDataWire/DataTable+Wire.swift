import ModelwireCodec
import ModelwireData

/// The mapping between ModelwireData's typed tables and the wire's `V1.Table`.
extension V1.Table {
    /// The wire form of a table: one typed column per column, with its missing flags.
    public init(_ table: DataTable) {
        self.init(
            columns: table.columns.map { column in
                let values: V1.TableColumn.Values =
                    switch column.values {
                    case .floats(let v): .floats(V1.FloatColumn(values: v))
                    case .ints(let v): .ints(V1.IntColumn(values: v))
                    case .strings(let v): .strings(V1.StringColumn(values: v))
                    case .bools(let v): .bools(V1.BoolColumn(values: v))
                    }
                return V1.TableColumn(
                    name: column.name,
                    values: values,
                    missing: column.missing.contains(true) ? column.missing : []
                )
            }
        )
    }
}

extension DataTable {
    /// A table from its wire form, validated (every column typed, equal lengths, distinct names).
    /// - Throws: `DatasetError` naming the column at fault.
    public init(validating wire: V1.Table) throws(DatasetError) {
        var columns = [Column]()
        columns.reserveCapacity(wire.columns.count)
        for column in wire.columns {
            let values: Values
            switch column.values {
            case .floats(let v)?: values = .floats(v.values)
            case .ints(let v)?: values = .ints(v.values)
            case .strings(let v)?: values = .strings(v.values)
            case .bools(let v)?: values = .bools(v.values)
            case nil:
                throw DatasetError(
                    .columnType,
                    message: "column '\(column.name)' has no values (floats, ints, strings or bools)"
                )
            }
            columns.append(Column(name: column.name, values: values, missing: column.missing))
        }
        try self.init(columns: columns)
        guard self.rows > 0 else { throw DatasetError(.emptyFile, message: "the table has no rows") }
    }
}

extension V1.LabelledTable {
    /// The wire form of a table whose `labelColumn` holds the targets.
    public init(_ table: DataTable, labelColumn: String) {
        self.init(table: V1.Table(table), labelColumn: labelColumn)
    }
}
