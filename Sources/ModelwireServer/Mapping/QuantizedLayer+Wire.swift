import ModelwireCodec
import ModelwireML
import ModelwireProtocol

extension V1.QuantizedLayer {
    /// The wire form of an int8 layer (weights as two's-complement bytes).
    init(_ layer: QuantizedLayer) {
        self.init(
            inputs: UInt32(layer.inputs),
            units: UInt32(layer.units),
            activation: layer.activation.wire,
            weights: layer.weights.map { UInt8(bitPattern: $0) },
            weightScales: layer.weightScales,
            biases: layer.biases,
            inputScale: layer.inputScale
        )
    }
}

extension QuantizedLayer {
    /// An int8 layer from its wire form; sizes are checked by `TrainedModel(snapshot:)`.
    /// - Throws: `ModelwireError` (data_loss) for an unknown activation.
    init(wire layer: V1.QuantizedLayer) throws(ModelwireError) {
        guard let activation = Activation(wire: layer.activation) else {
            throw ModelwireError(.dataLoss, "quantized layer activation \(layer.activation) is unknown")
        }
        self.init(
            inputs: Int(layer.inputs),
            units: Int(layer.units),
            activation: activation,
            weights: layer.weights.map { Int8(bitPattern: $0) },
            weightScales: layer.weightScales,
            biases: layer.biases,
            inputScale: layer.inputScale
        )
    }
}
