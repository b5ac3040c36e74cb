import ModelwireCodec
import ModelwireML
import ModelwireProtocol

/// A dense layer in the model file, its weights dense (`weights`) or, when that encodes to fewer
/// bytes, as its non-zero entries (`sparse_weights`, delta-coded positions: model_file.proto).
extension V1.DenseLayer {
    /// The most weights (inputs × units) the sparse layers of one file may expand to when read:
    /// unlike dense weights they are not bounded by the file's size. 2^26 floats (256 MiB), above
    /// the default training cap of 50 million parameters for a whole model.
    static let maxSparseWeights = 1 << 26

    /// The file's form of `layer`: sparse when its encoding is smaller than the dense one's
    /// (compared by their exact protobuf sizes) and its weights fit in `sparseBudget` (what is left
    /// of `maxSparseWeights` for the file, reduced when sparse is chosen), dense otherwise.
    init(_ layer: DenseNetParameters.DenseLayer, sparseBudget: inout Int) {
        let dense = V1.DenseLayer(
            inputs: UInt32(layer.inputs),
            units: UInt32(layer.units),
            activation: layer.activation.wire,
            weights: layer.weights,
            biases: layer.biases
        )
        // A sparse entry costs at least 5 bytes (a one-byte delta and a float), a dense one 4.
        guard layer.weights.count <= sparseBudget,
            5 * layer.weights.count(where: { $0 != 0 }) < 4 * layer.weights.count
        else {
            self = dense
            return
        }
        var sparse = dense
        sparse.weights = []
        sparse.sparseWeights = V1.SparseWeights(nonzeroOf: layer.weights)
        guard sparse.encodedSize < dense.encodedSize else {
            self = dense
            return
        }
        sparseBudget -= layer.weights.count
        self = sparse
    }

    /// Bytes of this layer's protobuf encoding.
    private var encodedSize: Int {
        // Only strings can make an encode fail (embedded NUL); a layer has none.
        (try? self.withSerialization { size, _ in size }) ?? .max
    }

    /// The layer's weights, inputs × units row-major, from whichever form the file holds; a sparse
    /// form is checked against every invariant of `SparseWeights` first.
    /// - Parameter index: The layer's position, for the error message.
    /// - Throws: `ModelwireError` (data_loss) naming the layer and what is wrong.
    func denseWeights(layer index: Int) throws(ModelwireError) -> [Float] {
        guard let sparse = self.sparseWeights else { return self.weights }
        func fail(_ problem: String) -> ModelwireError {
            ModelwireError(.dataLoss, "layer \(index): sparse_weights \(problem)")
        }
        guard self.weights.isEmpty else { throw fail("and weights are both set") }
        guard let count = self.sparseExpansion, count <= Self.maxSparseWeights else {
            throw fail("expand to \(self.inputs) x \(self.units) weights, more than \(Self.maxSparseWeights)")
        }
        guard sparse.positionDeltas.count == sparse.values.count else {
            throw fail("has \(sparse.positionDeltas.count) position deltas for \(sparse.values.count) values")
        }
        var weights = [Float](repeating: 0, count: count)
        var position = -1
        for (k, delta) in sparse.positionDeltas.enumerated() {
            guard k == 0 || delta > 0 else { throw fail("position \(k) repeats the one before (delta 0)") }
            position = k == 0 ? Int(delta) : position + Int(delta)
            guard position < count else {
                throw fail("position \(position) (entry \(k)) is outside the \(self.inputs) x \(self.units) weights")
            }
            weights[position] = sparse.values[k]
        }
        return weights
    }

    /// inputs × units when the weights are sparse (nil if that overflows), 0 when they are dense.
    var sparseExpansion: Int? {
        guard self.sparseWeights != nil else { return 0 }
        let (count, overflow) = Int(self.inputs).multipliedReportingOverflow(by: Int(self.units))
        return overflow ? nil : count
    }

    /// Weights and biases of the layer, whatever form its weights are stored in (a layer read
    /// through `denseWeights`, so inputs × units does not overflow).
    var parameterCount: Int {
        (self.sparseWeights == nil ? self.weights.count : Int(self.inputs) * Int(self.units)) + self.biases.count
    }
}

extension V1.DenseNetParameters {
    /// The file's form of a dense net: each layer as `V1.DenseLayer.init(_:sparseBudget:)` picks,
    /// the sparse ones together within `V1.DenseLayer.maxSparseWeights`.
    init(_ p: DenseNetParameters) {
        var budget = V1.DenseLayer.maxSparseWeights
        self.init(layers: p.layers.map { V1.DenseLayer($0, sparseBudget: &budget) }, loss: p.loss.wire)
    }

    /// Checks, before any layer is expanded, that the sparse layers together stay within
    /// `V1.DenseLayer.maxSparseWeights`.
    /// - Throws: `ModelwireError` (data_loss) when they do not.
    func checkSparseExpansion() throws(ModelwireError) {
        var total = 0
        for layer in self.layers {
            guard let count = layer.sparseExpansion, count <= V1.DenseLayer.maxSparseWeights - total else {
                throw ModelwireError(
                    .dataLoss,
                    "the sparse layers expand to more than \(V1.DenseLayer.maxSparseWeights) weights"
                )
            }
            total += count
        }
    }
}
