/// Magnitude pruning of a dense net's parameters (issue 14): unstructured (single weights set to
/// zero) or structured (whole hidden units removed, so the layers shrink and predict gets faster).
public enum Pruning {
    /// Sets the `sparsity` share of all weights (not biases) to zero, smallest |w| first, ranked
    /// over every layer at once (global magnitude pruning). Ties at the threshold are broken by
    /// position, so the count is exact: `Int((weights × sparsity).rounded(.down))`.
    /// - Throws: `TrainingError.invalidArgument` unless 0 < sparsity < 1.
    public static func magnitude(
        _ parameters: DenseNetParameters,
        sparsity: Double
    ) throws(TrainingError)
        -> DenseNetParameters
    {
        try check(sparsity)
        var ranked: [(magnitude: Float, layer: Int, index: Int)] = []
        for (l, layer) in parameters.layers.enumerated() {
            for (i, w) in layer.weights.enumerated() { ranked.append((abs(w), l, i)) }
        }
        let count = Int((Double(ranked.count) * sparsity).rounded(.down))
        ranked.sort { ($0.magnitude, $0.layer, $0.index) < ($1.magnitude, $1.layer, $1.index) }
        var pruned = parameters
        for entry in ranked.prefix(count) { pruned.layers[entry.layer].weights[entry.index] = 0 }
        return pruned
    }

    /// Removes the `sparsity` share of each hidden layer's units (at least one stays), those whose
    /// incoming weights have the smallest L2 norm first, and the matching inputs of the next layer.
    /// The output layer keeps every unit.
    /// - Throws: `TrainingError.invalidArgument` unless 0 < sparsity < 1, or for a net without
    ///   hidden layers.
    public static func structured(
        _ parameters: DenseNetParameters,
        sparsity: Double
    ) throws(TrainingError)
        -> DenseNetParameters
    {
        try check(sparsity)
        guard parameters.layers.count > 1 else {
            throw TrainingError(.invalidArgument, "structured pruning needs a hidden layer; this net has none")
        }
        var layers = parameters.layers
        for l in 0..<(layers.count - 1) {
            let layer = layers[l]
            let keep = max(1, layer.units - Int((Double(layer.units) * sparsity).rounded(.down)))
            let norms = (0..<layer.units).map { j in
                (0..<layer.inputs).reduce(Float(0)) {
                    $0 + layer.weights[$1 * layer.units + j] * layer.weights[$1 * layer.units + j]
                }
            }
            // The strongest `keep` units, in their original order.
            let kept = (0..<layer.units).sorted { (norms[$0], $1) > (norms[$1], $0) }.prefix(keep).sorted()
            layers[l] = DenseNetParameters.DenseLayer(
                inputs: layer.inputs,
                units: kept.count,
                activation: layer.activation,
                weights: (0..<layer.inputs).flatMap { i in kept.map { layer.weights[i * layer.units + $0] } },
                biases: kept.map { layer.biases[$0] }
            )
            let next = layers[l + 1]
            layers[l + 1] = DenseNetParameters.DenseLayer(
                inputs: kept.count,
                units: next.units,
                activation: next.activation,
                weights: kept.flatMap { i in next.weights[(i * next.units)..<((i + 1) * next.units)] },
                biases: next.biases
            )
        }
        return DenseNetParameters(layers: layers, loss: parameters.loss)
    }

    private static func check(_ sparsity: Double) throws(TrainingError) {
        guard sparsity > 0, sparsity < 1 else {
            throw TrainingError(.invalidArgument, "sparsity must be in (0, 1), got \(sparsity)")
        }
    }
}
