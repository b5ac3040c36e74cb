import ModelwireData

extension Standardization {
    /// Fits mean and population standard deviation per column (scikit-learn's StandardScaler:
    /// a zero standard deviation becomes 1), accumulating in Double.
    /// - Parameters:
    ///   - features: rows × columns, row-major.
    ///   - columns: The column count.
    /// - Returns: The fitted standardisation.
    public init(fitting features: [Float], columns: Int) {
        let rows = features.count / max(columns, 1)
        var mean = [Double](repeating: 0, count: columns)
        var squares = [Double](repeating: 0, count: columns)
        for r in 0..<rows {
            for c in 0..<columns { mean[c] += Double(features[r * columns + c]) }
        }
        for c in 0..<columns { mean[c] /= Double(max(rows, 1)) }
        for r in 0..<rows {
            for c in 0..<columns {
                let d = Double(features[r * columns + c]) - mean[c]
                squares[c] += d * d
            }
        }
        let scale = squares.map { s -> Float in
            let std = (s / Double(max(rows, 1))).squareRoot()
            return std == 0 ? 1 : Float(std)
        }
        self.init(mean: mean.map { Float($0) }, scale: scale)
    }

    /// Standardises rows × columns values, row-major.
    /// - Parameter features: Raw features.
    /// - Returns: `(x − mean) / scale` per column.
    public func apply(_ features: [Float]) -> [Float] {
        let columns = self.mean.count
        var out = features
        out.withUnsafeMutableBufferPointer { o in
            self.mean.withUnsafeBufferPointer { m in
                self.scale.withUnsafeBufferPointer { s in
                    var i = 0
                    while i < o.count {
                        for c in 0..<columns { o[i + c] = (o[i + c] - m[c]) / s[c] }
                        i += columns
                    }
                }
            }
        }
        return out
    }

    /// Folds this standardisation into a linear map `x · W + b` (W inputs × outputs, row-major):
    /// returns W', b' with `x · W' + b' = ((x − mean) / scale) · W + b`, computed in Double.
    /// - Parameters:
    ///   - weights: inputs × outputs, row-major.
    ///   - biases: One per output.
    /// - Returns: The folded weights and biases.
    public func folded(into weights: [Float], biases: [Float]) -> (weights: [Float], biases: [Float]) {
        let inputs = self.mean.count
        let outputs = biases.count
        precondition(weights.count == inputs * outputs, "weights must be inputs x outputs")
        var w = weights
        var b = biases.map { Double($0) }
        for i in 0..<inputs {
            for j in 0..<outputs {
                let scaled = Double(weights[i * outputs + j]) / Double(self.scale[i])
                w[i * outputs + j] = Float(scaled)
                b[j] -= Double(self.mean[i]) * scaled
            }
        }
        return (w, b.map { Float($0) })
    }
}
