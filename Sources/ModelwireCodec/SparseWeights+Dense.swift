/// Between `V1.SparseWeights` (a pruned layer's non-zero weights, positions delta-coded:
/// model_file.proto) and the dense row-major weights it stands for.
extension V1.SparseWeights {
    /// The non-zero entries of `weights` (a dense layer's, row-major, at most 2^32 of them), in
    /// position order, positions delta-coded.
    public init(nonzeroOf weights: [Float]) {
        precondition(weights.count <= Int(UInt32.max), "more weights than sparse positions can name")
        var deltas: [UInt32] = []
        var values: [Float] = []
        var previous = 0
        for (position, w) in weights.enumerated() where w != 0 {
            deltas.append(UInt32(values.isEmpty ? position : position - previous))
            values.append(w)
            previous = position
        }
        self.init(positionDeltas: deltas, values: values)
    }
}
