import ModelwireCodec
import ModelwireDataWire
import ModelwireProtocol

extension V1.Dataset {
    /// These rows with their columns in the model's order, matched by name (PROTOCOL.md §10):
    /// a CSV with the same columns in another order evaluates the same. Rows without feature
    /// names, and models trained without them (`f0`, `f1`, ...), are taken by position.
    /// - Parameters:
    ///   - names: The model's feature names, in its input order.
    ///   - model: How the model is named in an error ("model iris v2").
    /// - Throws: `ModelwireError` invalid_argument naming the missing and the extra columns.
    func aligned(toFeatureNames names: [String], model: String) throws(ModelwireError) -> V1.Dataset {
        guard !featureNames.isEmpty, featureNames != names, names != Self.positionalFeatureNames(names.count) else {
            return self
        }
        let index = Dictionary(featureNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let missing = names.filter { index[$0] == nil }
        let extra = featureNames.filter { !names.contains($0) }
        guard missing.isEmpty, extra.isEmpty else {
            var parts: [String] = []
            if !missing.isEmpty { parts.append("lack \(Self.list(missing))") }
            if !extra.isEmpty { parts.append("have columns it does not know: \(Self.list(extra))") }
            throw ModelwireError(
                .invalidArgument,
                "\(model) takes the features \(Self.list(names)); these rows \(parts.joined(separator: " and "))"
            )
        }
        let order = names.map { index[$0]! }
        let columns = featureNames.count
        let values = features?.values ?? []
        var reordered = [Float]()
        reordered.reserveCapacity(values.count)
        var row = 0
        while row + columns <= values.count {
            for column in order { reordered.append(values[row + column]) }
            row += columns
        }
        var aligned = self
        aligned.featureNames = names
        aligned.features = V1.Tensor(columns: UInt32(names.count), values: reordered)
        return aligned
    }

    private static func list(_ names: [String]) -> String {
        names.count <= 8
            ? names.joined(separator: ", ") : names.prefix(8).joined(separator: ", ") + ", ... (\(names.count))"
    }
}
