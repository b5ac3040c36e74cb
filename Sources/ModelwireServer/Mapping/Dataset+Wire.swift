import ModelwireCodec
import ModelwireData
import ModelwireProtocol

extension Dataset {
    /// A dataset from its wire form, validated: shape, class ids, finite values, and (for
    /// training, `requireTwoClasses`) at least two classes; rows to evaluate may hold any subset.
    /// - Throws: `ModelwireError` (invalid_argument) naming what is wrong.
    init(wire: V1.Dataset, requireTwoClasses: Bool = true) throws(ModelwireError) {
        let features = wire.features ?? V1.Tensor()
        let columns = Int(features.columns)
        guard columns > 0, !features.values.isEmpty else { throw ModelwireError(.invalidArgument, "the dataset is empty") }
        guard features.values.count % columns == 0 else {
            throw ModelwireError(.invalidArgument, "\(features.values.count) feature values do not fill rows of \(columns) columns")
        }
        let rows = features.values.count / columns
        if let bad = features.values.firstIndex(where: { !$0.isFinite }) {
            throw ModelwireError(.invalidArgument, "row \(bad / columns + 1), column \(bad % columns + 1) is NaN or infinite")
        }
        let names = wire.featureNames.isEmpty ? (0..<columns).map { "f\($0)" } : wire.featureNames
        guard names.count == columns else {
            throw ModelwireError(.invalidArgument, "\(names.count) feature names for \(columns) columns")
        }
        let targets: Targets
        if wire.classNames.isEmpty {
            guard wire.targets.count == rows else {
                throw ModelwireError(.invalidArgument, "\(wire.targets.count) targets for \(rows) rows (and no class names)")
            }
            guard wire.targets.allSatisfy(\.isFinite) else { throw ModelwireError(.invalidArgument, "a target is NaN or infinite") }
            targets = .values(wire.targets)
        } else {
            guard wire.classIds.count == rows else {
                throw ModelwireError(.invalidArgument, "\(wire.classIds.count) class ids for \(rows) rows")
            }
            if let outOfRange = wire.classIds.first(where: { Int($0) >= wire.classNames.count }) {
                throw ModelwireError(.invalidArgument, "class id \(outOfRange) but only \(wire.classNames.count) class names")
            }
            guard !requireTwoClasses || Set(wire.classIds).count >= 2 else {
                throw ModelwireError(.invalidArgument, "the dataset has only one class; classification needs at least two")
            }
            targets = .classes(names: wire.classNames, ids: wire.classIds.map { Int($0) })
        }
        self.init(featureNames: names, features: features.values, targets: targets)
    }

    /// The wire form of this dataset.
    var wire: V1.Dataset {
        switch targets {
        case .classes(let names, let ids):
            V1.Dataset(featureNames: featureNames, features: V1.Tensor(columns: UInt32(columns), values: features),
                       classNames: names, classIds: ids.map { UInt32($0) })
        case .values(let values):
            V1.Dataset(featureNames: featureNames, features: V1.Tensor(columns: UInt32(columns), values: features),
                       targets: values)
        }
    }
}
