/// One int8 layer of a quantized model (issue 14, Quantize): symmetric int8 weights with one float
/// scale per output unit, float biases, and the scale of its int8 input activations (fixed, or
/// per row at predict time).
///
/// A row x is quantized as `q = round(x / s)` clamped to ±127, with `s = inputScale` (static) or
/// `max|x| / 127` of that row (dynamic); then
/// `y[j] = activation(s · weightScales[j] · Σ_i q[i] · weights[i · units + j] + biases[j])`,
/// the sum exact in 32-bit integers (CModelwireQuantizedKernels.h).
public struct QuantizedLayer: Sendable, Equatable {
    /// Inputs to the layer.
    public var inputs: Int
    /// Units of the layer.
    public var units: Int
    /// The activation.
    public var activation: Activation
    /// inputs × units int8 in [-127, 127], row-major (as `DenseLayer.weights`).
    public var weights: [Int8]
    /// One scale per unit, > 0: `w[i][j] ≈ weights[i · units + j] · weightScales[j]`.
    public var weightScales: [Float]
    /// One bias per unit.
    public var biases: [Float]
    /// The static input scale (> 0), or nil for a per-row scale.
    public var inputScale: Float?

    /// Creates a layer.
    public init(
        inputs: Int,
        units: Int,
        activation: Activation,
        weights: [Int8],
        weightScales: [Float],
        biases: [Float],
        inputScale: Float?
    ) {
        self.inputs = inputs
        self.units = units
        self.activation = activation
        self.weights = weights
        self.weightScales = weightScales
        self.biases = biases
        self.inputScale = inputScale
    }

    /// The widest input the int32 sums are exact for (CModelwireQuantizedKernels.h).
    public static let maxInputs = 65_536
}

/// An int8 dense network: its layers, input to output, and the loss the source was trained with.
public struct QuantizedDenseParameters: Sendable, Equatable {
    /// The layers.
    public var layers: [QuantizedLayer]
    /// The source network's loss (it decides what the outputs mean).
    public var loss: Loss

    /// Creates parameters.
    public init(layers: [QuantizedLayer], loss: Loss) {
        self.layers = layers
        self.loss = loss
    }
}

/// An int8 linear model: one layer, softmax for logistic regression, linear for an SVM.
public struct QuantizedLinearParameters: Sendable, Equatable {
    /// Which linear model.
    public var kind: LinearParameters.Kind
    /// Its one layer (outputs as `LinearParameters.outputs`).
    public var layer: QuantizedLayer

    /// Creates parameters.
    public init(kind: LinearParameters.Kind, layer: QuantizedLayer) {
        self.kind = kind
        self.layer = layer
    }
}
