/// A table of named, typed columns (float, integer, text or boolean), where any value may be
/// missing: raw rows as a CSV file or a data frame holds them, before preprocessing.
public struct DataTable: Sendable, Equatable {
    /// One column's values, all of one type. A missing value's slot holds any value (0, "", false).
    public enum Values: Sendable, Equatable {
        /// 32-bit floats; NaN also counts as missing.
        case floats([Float])
        /// 64-bit integers.
        case ints([Int64])
        /// Text.
        case strings([String])
        /// Booleans.
        case bools([Bool])

        /// The number of values.
        public var count: Int {
            switch self {
            case .floats(let v): v.count
            case .ints(let v): v.count
            case .strings(let v): v.count
            case .bools(let v): v.count
            }
        }

        /// The type's name as messages give it: `float`, `int`, `string` or `bool`.
        public var typeName: String {
            switch self {
            case .floats: "float"
            case .ints: "int"
            case .strings: "string"
            case .bools: "bool"
            }
        }
    }

    /// A named column.
    public struct Column: Sendable, Equatable {
        /// The column's name (distinct within its table).
        public var name: String
        /// The values, one per row.
        public var values: Values
        /// Per row, whether its value is missing; empty when none is.
        public var missing: [Bool]

        /// Creates a column.
        /// - Parameters:
        ///   - name: The column's name.
        ///   - values: One value per row.
        ///   - missing: Per row, whether the value is missing; empty (the default) when none is.
        public init(name: String, values: Values, missing: [Bool] = []) {
            self.name = name
            self.values = values
            self.missing = missing
        }

        /// Whether row `row`'s value is missing: flagged in `missing`, or a NaN float.
        public func isMissing(_ row: Int) -> Bool {
            if !self.missing.isEmpty, self.missing[row] { return true }
            if case .floats(let v) = self.values, v[row].isNaN { return true }
            return false
        }
    }

    /// The columns, in order.
    public private(set) var columns: [Column]
    /// The number of rows.
    public private(set) var rows: Int

    /// Creates a table, checking its shape.
    /// - Parameter columns: At least one column; every column has the same number of values, a
    ///   `missing` list that is empty or one flag per value, and a distinct, non-empty name.
    /// - Throws: `DatasetError`: `.emptyFile` without columns, `.duplicateName`, or
    ///   `.wrongColumnCount` naming the column whose length differs.
    public init(columns: [Column]) throws(DatasetError) {
        guard let first = columns.first else {
            throw DatasetError(.emptyFile, message: "the table has no columns")
        }
        var seen = Set<String>()
        for column in columns {
            guard !column.name.isEmpty else {
                throw DatasetError(.duplicateName, message: "a column of the table has an empty name")
            }
            guard seen.insert(column.name).inserted else {
                throw DatasetError(.duplicateName, message: "the table has two columns named '\(column.name)'")
            }
            guard column.values.count == first.values.count else {
                throw DatasetError(
                    .wrongColumnCount,
                    message:
                        "column '\(column.name)' has \(column.values.count) values, column '\(first.name)' \(first.values.count)"
                )
            }
            guard column.missing.isEmpty || column.missing.count == column.values.count else {
                throw DatasetError(
                    .wrongColumnCount,
                    message:
                        "column '\(column.name)' has \(column.values.count) values and \(column.missing.count) missing flags"
                )
            }
        }
        self.columns = columns
        self.rows = first.values.count
    }

    /// The column named `name`, if the table has one.
    public func column(named name: String) -> Column? {
        self.columns.first { $0.name == name }
    }

    /// The column names, in order.
    public var names: [String] { self.columns.map(\.name) }

    /// The table without the named columns (names it lacks are ignored).
    public func removing(_ names: Set<String>) -> DataTable {
        var copy = self
        copy.columns.removeAll { names.contains($0.name) }
        return copy
    }
}

extension DataTable.Values {
    /// Row `row`'s value as text, the way categories and class labels name it: strings as they
    /// are, integers in decimal, integral floats as integers (`3`), other floats as their
    /// shortest text (`2.5`), booleans as `true` or `false`.
    func text(at row: Int) -> String {
        switch self {
        case .strings(let v): v[row]
        case .ints(let v): String(v[row])
        case .floats(let v): Self.text(of: v[row])
        case .bools(let v): v[row] ? "true" : "false"
        }
    }

    /// A float's category text: an integer when it is one, else its shortest description.
    static func text(of value: Float) -> String {
        if let integer = Int64(exactly: value) { return String(integer) }
        return value.description
    }

    /// Row `row`'s value as a number (booleans 0 or 1), or `nil` for text that is not one. The
    /// result may be infinite (a float, or text such as `inf`).
    func number(at row: Int) -> Float? {
        switch self {
        case .floats(let v): v[row]
        case .ints(let v): Float(v[row])
        case .bools(let v): v[row] ? 1 : 0
        case .strings(let v): Float(v[row])
        }
    }
}
