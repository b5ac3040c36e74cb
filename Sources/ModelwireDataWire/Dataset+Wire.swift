import ModelwireCodec
import ModelwireData

/// The one mapping between ModelwireData's values and the wire's (`V1.Dataset`, `V1.Tensor`),
/// used by the server and the CLI alike.
extension V1.Dataset {
    /// The wire form of a dataset: feature names, the features as a tensor, and class names
    /// with a class id per row (classification) or a target per row (regression).
    /// - Parameter dataset: The dataset.
    public init(_ dataset: Dataset) {
        let features = V1.Tensor(columns: UInt32(dataset.columns), values: dataset.features)
        switch dataset.targets {
        case .classes(let names, let ids):
            self.init(
                featureNames: dataset.featureNames,
                features: features,
                classNames: names,
                classIds: ids.map { UInt32($0) }
            )
        case .values(let values):
            self.init(featureNames: dataset.featureNames, features: features, targets: values)
        }
    }
}

extension V1.Tensor {
    /// Feature rows as a tensor: their column count and values.
    /// - Parameters:
    ///   - rows: The rows.
    ///   - range: The rows to take (default all).
    public init(_ rows: FeatureRows, rows range: Range<Int>? = nil) {
        let range = range ?? 0..<rows.rows
        self.init(
            columns: UInt32(rows.columns),
            values: Array(rows.values[range.lowerBound * rows.columns..<range.upperBound * rows.columns])
        )
    }
}

extension Dataset {
    /// A dataset from its wire form, validated: shape, class ids, finite values, and (for
    /// training, `requireTwoClasses`) at least two classes; rows to evaluate may hold any subset.
    /// Missing feature names become `f0`, `f1`, ...
    /// - Parameters:
    ///   - wire: The wire dataset.
    ///   - requireTwoClasses: Refuse a classification dataset with fewer than two distinct classes.
    /// - Throws: `DatasetError` naming what is wrong (`.emptyFile`, `.wrongColumnCount`, `.nonFinite`,
    ///   `.unknownClass`, `.singleClass`); its message is what the server sends as invalid_argument.
    public init(validating wire: V1.Dataset, requireTwoClasses: Bool = true) throws(DatasetError) {
        let features = wire.features ?? V1.Tensor()
        let columns = Int(features.columns)
        guard columns > 0, !features.values.isEmpty else {
            throw DatasetError(.emptyFile, message: "the dataset is empty")
        }
        guard features.values.count % columns == 0 else {
            throw DatasetError(
                .wrongColumnCount,
                message: "\(features.values.count) feature values do not fill rows of \(columns) columns"
            )
        }
        let rows = features.values.count / columns
        if let bad = features.values.firstIndex(where: { !$0.isFinite }) {
            throw DatasetError(
                .nonFinite,
                message: "row \(bad / columns + 1), column \(bad % columns + 1) is NaN or infinite"
            )
        }
        let names = wire.featureNames.isEmpty ? V1.Dataset.positionalFeatureNames(columns) : wire.featureNames
        guard names.count == columns else {
            throw DatasetError(.wrongColumnCount, message: "\(names.count) feature names for \(columns) columns")
        }
        let targets: Targets
        if wire.classNames.isEmpty {
            guard wire.targets.count == rows else {
                throw DatasetError(
                    .wrongColumnCount,
                    message: "\(wire.targets.count) targets for \(rows) rows (and no class names)"
                )
            }
            guard wire.targets.allSatisfy(\.isFinite) else {
                throw DatasetError(.nonFinite, message: "a target is NaN or infinite")
            }
            targets = .values(wire.targets)
        } else {
            guard wire.classIds.count == rows else {
                throw DatasetError(.wrongColumnCount, message: "\(wire.classIds.count) class ids for \(rows) rows")
            }
            if let outOfRange = wire.classIds.first(where: { Int($0) >= wire.classNames.count }) {
                throw DatasetError(
                    .unknownClass,
                    message: "class id \(outOfRange) but only \(wire.classNames.count) class names"
                )
            }
            guard !requireTwoClasses || Set(wire.classIds).count >= 2 else {
                throw DatasetError(
                    .singleClass,
                    message: "the dataset has only one class; classification needs at least two"
                )
            }
            targets = .classes(names: wire.classNames, ids: wire.classIds.map { Int($0) })
        }
        self.init(featureNames: names, features: features.values, targets: targets)
    }
}

extension V1.Dataset {
    /// The feature names of rows sent without names: f0, f1, ... (columns are then matched by position).
    public static func positionalFeatureNames(_ count: Int) -> [String] { (0..<count).map { "f\($0)" } }
}
