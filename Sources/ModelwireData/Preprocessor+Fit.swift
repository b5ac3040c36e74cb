extension Preprocessor {
    /// Fits a preprocessor on training columns (the label already removed).
    /// - Throws: `DatasetError` naming the column: `.missingColumn` (an option names a column the
    ///   table lacks), `.columnType`, `.noValues`, `.nonNumeric`.
    public static func fit(_ table: DataTable, options: Options) throws(DatasetError) -> Preprocessor {
        throw DatasetError(.columnType, message: "preprocessing is being built")  // replaced by the helper's implementation
    }
}
