/// Row counts and row ranges of wire tables, shared by the server (uploads) and clients (chunking).
extension V1.TableColumn {
    /// The number of values the column holds.
    public var rowCount: Int {
        switch values {
        case .floats(let v)?: v.values.count
        case .ints(let v)?: v.values.count
        case .strings(let v)?: v.values.count
        case .bools(let v)?: v.values.count
        case nil: 0
        }
    }

    /// The value type's name as messages give it: `float`, `int`, `string`, `bool` (`no` when unset).
    public var typeName: String {
        switch values {
        case .floats?: "float"
        case .ints?: "int"
        case .strings?: "string"
        case .bools?: "bool"
        case nil: "no"
        }
    }

    /// The column's rows in `range` (which must be within its values).
    public func rows(_ range: Range<Int>) -> V1.TableColumn {
        var part = V1.TableColumn(name: name, missing: missing.isEmpty ? [] : Array(missing[range]))
        switch values {
        case .floats(let v)?: part.values = .floats(V1.FloatColumn(values: Array(v.values[range])))
        case .ints(let v)?: part.values = .ints(V1.IntColumn(values: Array(v.values[range])))
        case .strings(let v)?: part.values = .strings(V1.StringColumn(values: Array(v.values[range])))
        case .bools(let v)?: part.values = .bools(V1.BoolColumn(values: Array(v.values[range])))
        case nil: break
        }
        return part
    }
}

extension V1.Table {
    /// The number of rows (the first column's count; 0 without columns).
    public var rowCount: Int { columns.first?.rowCount ?? 0 }

    /// The table's rows in `range`, every column cut alike.
    public func rows(_ range: Range<Int>) -> V1.Table { V1.Table(columns: columns.map { $0.rows(range) }) }
}
