/// A table of numeric features with one target per row, ready for training.
///
/// Features are stored flat and row-major (`features[row * columns + column]`). A
/// classification dataset has class names and a class id (an index into `classNames`) per
/// row; a regression dataset has a `Float` value per row and no class names.
public struct Dataset: Sendable, Equatable {
    /// What the dataset's targets are.
    public enum Targets: Sendable, Equatable {
        /// Class ids per row, each an index into `classNames`.
        case classes(names: [String], ids: [Int])
        /// One real value per row.
        case values([Float])
    }

    /// The feature column names, in order.
    public var featureNames: [String]
    /// `rows * columns` feature values, row-major.
    public var features: [Float]
    /// The number of rows (samples).
    public var rows: Int
    /// The number of feature columns.
    public var columns: Int { self.featureNames.count }
    /// The targets, one per row.
    public var targets: Targets

    /// Creates a dataset, checking that the sizes agree.
    /// - Parameters:
    ///   - featureNames: One name per feature column.
    ///   - features: `rows * featureNames.count` values, row-major.
    ///   - targets: One target per row.
    /// - Precondition: The sizes agree and every class id is in range.
    public init(featureNames: [String], features: [Float], targets: Targets) {
        let rows: Int
        switch targets {
        case .classes(let names, let ids):
            rows = ids.count
            precondition(ids.allSatisfy { $0 >= 0 && $0 < names.count }, "class id out of range")
        case .values(let values):
            rows = values.count
        }
        precondition(features.count == rows * featureNames.count, "features must be rows x columns")
        self.featureNames = featureNames
        self.features = features
        self.rows = rows
        self.targets = targets
    }

    /// The class names of a classification dataset, empty for regression.
    public var classNames: [String] {
        if case .classes(let names, _) = self.targets { return names }
        return []
    }

    /// The class id of every row of a classification dataset, empty for regression.
    public var classIDs: [Int] {
        if case .classes(_, let ids) = self.targets { return ids }
        return []
    }

    /// The target value of every row of a regression dataset, empty for classification.
    public var targetValues: [Float] {
        if case .values(let values) = self.targets { return values }
        return []
    }

    /// The features of one row.
    /// - Parameter row: A row index.
    /// - Returns: `columns` values.
    public func featureRow(_ row: Int) -> ArraySlice<Float> {
        self.features[row * self.columns..<(row + 1) * self.columns]
    }

    /// A dataset holding the given rows, in the given order (class names are kept whole).
    /// - Parameter indices: Row indices, each in `0 ..< rows`.
    /// - Returns: The subset.
    public func subset(_ indices: [Int]) -> Dataset {
        let c = self.columns
        var features = [Float]()
        features.reserveCapacity(indices.count * c)
        for i in indices { features += self.features[i * c..<(i + 1) * c] }
        switch self.targets {
        case .classes(let names, let ids):
            return Dataset(
                featureNames: self.featureNames,
                features: features,
                targets: .classes(names: names, ids: indices.map { ids[$0] })
            )
        case .values(let values):
            return Dataset(
                featureNames: self.featureNames,
                features: features,
                targets: .values(indices.map { values[$0] })
            )
        }
    }

    /// The same rows with class ids re-indexed to another class list, e.g. a model's: a test
    /// file may hold fewer classes than the training file, so its own ids differ.
    /// - Parameter names: The class names to index into (each of this dataset's classes must be among them).
    /// - Returns: A dataset whose `classNames` is `names`.
    /// - Throws: `DatasetError` with `.unknownClass` naming the first label that is not in `names`.
    public func reindexed(toClassNames names: [String]) throws(DatasetError) -> Dataset {
        guard case .classes(let own, let ids) = self.targets else {
            throw DatasetError(.unknownClass, message: "the dataset has regression targets, not classes")
        }
        if own == names { return self }
        let index = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        var mapping = [Int]()
        for name in own {
            guard let i = index[name] else {
                throw DatasetError(.unknownClass, message: "label '\(name)' is not one of the classes \(names)")
            }
            mapping.append(i)
        }
        var copy = self
        copy.targets = .classes(names: names, ids: ids.map { mapping[$0] })
        return copy
    }
}
