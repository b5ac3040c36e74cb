import ModelwireCodec
import ModelwireData
import ModelwireDataWire
import ModelwireProtocol

/// The server's view of ModelwireDataWire's mapping (the one the CLI uses too): its
/// validation errors become invalid_argument with the same message.
extension Dataset {
    /// A dataset from its wire form, validated: shape, class ids, finite values, and (for
    /// training, `requireTwoClasses`) at least two classes; rows to evaluate may hold any subset.
    /// - Throws: `ModelwireError` (invalid_argument) naming what is wrong.
    init(wire: V1.Dataset, requireTwoClasses: Bool = true) throws(ModelwireError) {
        do {
            try self.init(validating: wire, requireTwoClasses: requireTwoClasses)
        } catch {
            throw ModelwireError(.invalidArgument, error.message)
        }
    }

    /// The wire form of this dataset.
    var wire: V1.Dataset { V1.Dataset(self) }
}
