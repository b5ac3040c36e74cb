/// Post-training int8 quantization (issue 14, Quantize) of dense nets and linear models: symmetric
/// int8 weights with one float scale per output unit (`max|w| / 127` of its column), biases and the
/// input standardisation kept in float, activations scaled per row at predict time (dynamic) or per
/// layer from calibration rows (static). See `QuantizedLayer` for the arithmetic.
public enum Quantization {
    /// How a layer's input activations are scaled to int8.
    public enum Scaling: String, Sendable, Hashable {
        /// Per row at predict time: `max|x| / 127` of the row.
        case dynamic
        /// Per layer, fixed: `max|x| / 127` over the calibration rows' inputs to that layer.
        case `static`
    }

    /// A snapshot whose dense or linear parameters are replaced by their int8 form; everything
    /// else (features, classes, standardisation, training summary) is kept.
    /// - Parameters:
    ///   - snapshot: A dense net or a linear model.
    ///   - calibration: Raw feature rows, row-major, for static scales; nil for dynamic.
    /// - Throws: `TrainingError.invalidArgument` for other families, already quantized models,
    ///   layers wider than `QuantizedLayer.maxInputs`, or empty calibration rows.
    public static func quantize(_ snapshot: ModelSnapshot, calibration: [Float]?) throws(TrainingError) -> ModelSnapshot
    {
        var layers: [(inputs: Int, units: Int, activation: Activation, weights: [Float], biases: [Float])]
        switch snapshot.parameters {
        case .dense(let p): layers = p.layers.map { ($0.inputs, $0.units, $0.activation, $0.weights, $0.biases) }
        case .linear(let p):
            layers = [(p.inputs, p.outputs, p.kind == .logistic ? .softmax : .linear, p.weights, p.biases)]
        case .quantizedDense, .quantizedLinear:
            throw TrainingError(.invalidArgument, "the model is already quantized")
        case .tree, .forest, .gbdt:
            throw TrainingError(
                .invalidArgument,
                "only dense nets and linear models (logistic regression, linear SVM) can be quantized"
            )
        }
        if let wide = layers.first(where: { $0.inputs > QuantizedLayer.maxInputs }) {
            throw TrainingError(
                .invalidArgument,
                "a layer with \(wide.inputs) inputs is over the int8 kernels' \(QuantizedLayer.maxInputs)"
            )
        }
        var inputScales = [Float?](repeating: nil, count: layers.count)
        if let calibration {
            let features = snapshot.featureNames.count
            guard !calibration.isEmpty, calibration.count % features == 0 else {
                throw TrainingError(.invalidArgument, "calibration needs whole rows of \(features) features")
            }
            var x = Matrix(
                rows: calibration.count / features,
                columns: features,
                values: snapshot.standardization?.apply(calibration) ?? calibration
            )
            for (l, layer) in layers.enumerated() {
                inputScales[l] = Self.scale(ofLargest: x.values)
                var y = Matrix.multiply(x, Matrix(rows: layer.inputs, columns: layer.units, values: layer.weights))
                y.addBias(layer.biases, activation: layer.activation)
                x = y
            }
        }
        let quantized = layers.indices.map { l in
            Self.layer(layers[l], inputScale: inputScales[l])
        }
        var result = snapshot
        switch snapshot.parameters {
        case .linear(let p):
            result.parameters = .quantizedLinear(QuantizedLinearParameters(kind: p.kind, layer: quantized[0]))
        case .dense(let p):
            result.parameters = .quantizedDense(QuantizedDenseParameters(layers: quantized, loss: p.loss))
        default: preconditionFailure("refused above")
        }
        return result
    }

    /// One layer: each column's weights over its own scale.
    private static func layer(
        _ layer: (inputs: Int, units: Int, activation: Activation, weights: [Float], biases: [Float]),
        inputScale: Float?
    ) -> QuantizedLayer {
        var scales = [Float](repeating: 0, count: layer.units)
        for j in 0..<layer.units {
            var largest: Float = 0
            for i in 0..<layer.inputs { largest = max(largest, abs(layer.weights[i * layer.units + j])) }
            scales[j] = largest > 0 ? largest / 127 : 1
        }
        let weights = layer.weights.indices.map { index in
            Int8(max(-127, min(127, (layer.weights[index] / scales[index % layer.units]).rounded())))
        }
        return QuantizedLayer(
            inputs: layer.inputs,
            units: layer.units,
            activation: layer.activation,
            weights: weights,
            weightScales: scales,
            biases: layer.biases,
            inputScale: inputScale
        )
    }

    /// `max|x| / 127` over finite values, or 1 when they are all 0 (any scale quantizes 0 to 0).
    private static func scale(ofLargest values: [Float]) -> Float {
        let largest = values.reduce(Float(0)) { $1.isFinite ? max($0, abs($1)) : $0 }
        let scale = largest / 127
        return scale.isNormal ? scale : 1
    }
}
