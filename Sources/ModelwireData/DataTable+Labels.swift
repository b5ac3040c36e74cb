extension DataTable {
    /// Splits off the label column and reads its targets.
    public func labelled(by label: String, task: Dataset.CSVOptions.Task) throws(DatasetError) -> (features: DataTable, targets: Dataset.Targets) {
        throw DatasetError(.columnType, message: "preprocessing is being built")  // replaced by the helper's implementation
    }
}
