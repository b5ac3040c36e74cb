/// A dense float32 matrix, row-major and contiguous: element (r, c) is `values[r * columns + c]`.
public struct Matrix: Sendable, Equatable {
    /// The number of rows.
    public private(set) var rows: Int
    /// The number of columns.
    public private(set) var columns: Int
    /// `rows * columns` values, row-major.
    public var values: [Float] {
        didSet { precondition(self.values.count == self.rows * self.columns, "values must stay rows x columns") }
    }

    /// Creates a matrix filled with one value.
    /// - Parameters:
    ///   - rows: Row count, ≥ 0.
    ///   - columns: Column count, ≥ 0.
    ///   - value: The fill value.
    public init(rows: Int, columns: Int, repeating value: Float = 0) {
        precondition(rows >= 0 && columns >= 0, "negative matrix size")
        self.rows = rows
        self.columns = columns
        self.values = Array(repeating: value, count: rows * columns)
    }

    /// Creates a matrix from row-major values.
    /// - Parameters:
    ///   - rows: Row count.
    ///   - columns: Column count.
    ///   - values: `rows * columns` values, row-major.
    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(rows >= 0 && columns >= 0 && values.count == rows * columns, "values must be rows x columns")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// The element at a row and column.
    public subscript(row: Int, column: Int) -> Float {
        get { self.values[row * self.columns + column] }
        set { self.values[row * self.columns + column] = newValue }
    }

    /// The transpose.
    public var transposed: Matrix {
        var result = Matrix(rows: self.columns, columns: self.rows)
        for r in 0..<self.rows {
            for c in 0..<self.columns { result.values[c * self.rows + r] = self.values[r * self.columns + c] }
        }
        return result
    }

    /// Sums over rows (one value per column) or over columns (one value per row).
    /// - Parameter axis: `.rows` sums each column down the rows; `.columns` sums each row.
    /// - Returns: The sums.
    public func sums(over axis: Axis) -> [Float] {
        switch axis {
        case .rows:
            var out = [Float](repeating: 0, count: self.columns)
            self.values.withUnsafeBufferPointer { x in
                out.withUnsafeMutableBufferPointer { o in
                    Kernels.columnSums(x.baseAddress!, rows: self.rows, columns: self.columns, into: o.baseAddress!)
                }
            }
            return out
        case .columns:
            return (0..<self.rows).map { r in
                self.values[r * self.columns..<(r + 1) * self.columns].reduce(0, +)
            }
        }
    }

    /// The index of the largest value in each row (the first one on ties).
    public func argmaxPerRow() -> [Int] {
        let columns = self.columns
        return self.values.withUnsafeBufferPointer { values in
            (0..<self.rows).map { r in
                let row = values.baseAddress! + r * columns
                var best = 0
                for c in 1..<max(columns, 1) where row[c] > row[best] { best = c }
                return best
            }
        }
    }

    /// An axis of a matrix.
    public enum Axis: Sendable, Hashable {
        /// Down the rows (the result has one value per column).
        case rows
        /// Along the columns (the result has one value per row).
        case columns
    }
}
