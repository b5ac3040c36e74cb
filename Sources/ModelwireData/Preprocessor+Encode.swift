extension Preprocessor {
    /// The encoded feature names, in order.
    public var featureNames: [String] { [] }
    /// Per raw column (in ``columns``' order), the range of its encoded features.
    public var featureGroups: [Range<Int>] { [] }
    /// Encodes rows of raw columns (matched by name; extra columns are ignored) into `rows x featureNames.count` floats.
    public func encode(_ table: DataTable) throws(DatasetError) -> [Float] {
        throw DatasetError(.columnType, message: "preprocessing is being built")  // replaced by the helper's implementation
    }
}
