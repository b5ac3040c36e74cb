import Foundation

/// A training loss, averaged over the rows of a batch.
public enum Loss: String, Sendable, Hashable, CaseIterable, Codable {
    /// −log p[y], with integer class targets (Keras `sparse_categorical_crossentropy`); softmax outputs.
    case sparseCategoricalCrossEntropy
    /// −(y log p + (1−y) log(1−p)) on one sigmoid output, targets 0 or 1.
    case binaryCrossEntropy
    /// (ŷ − y)², averaged over rows and outputs.
    case meanSquaredError
    /// One-vs-rest hinge: Σ_k max(0, 1 − t_k s_k) with t_k = +1 for the true class and −1
    /// otherwise (one output: t = +1 for class 1, −1 for class 0); linear SVM scores.
    case hinge

    /// Probabilities are clipped to [ε, 1−ε] inside the logarithms, as Keras does (ε = 1e-7).
    static let epsilon: Float = 1e-7

    /// The mean loss of a batch and its gradient with respect to the outputs.
    /// - Parameters:
    ///   - outputs: Model outputs, rows × outputs (after the output activation).
    ///   - targets: One class id (as Float) per row, or for mean squared error one value per output
    ///     (rows × outputs).
    /// - Returns: The mean loss and ∂loss/∂outputs.
    public func evaluate(outputs: Matrix, targets: [Float]) -> (loss: Float, gradient: Matrix) {
        let expected = self == .meanSquaredError ? outputs.rows * outputs.columns : outputs.rows
        precondition(targets.count == expected && outputs.rows > 0, "\(self) needs \(expected) targets")
        var gradient = Matrix(rows: outputs.rows, columns: outputs.columns)
        let loss = outputs.values.withUnsafeBufferPointer { o in
            targets.withUnsafeBufferPointer { t in
                gradient.values.withUnsafeMutableBufferPointer { g in
                    self.lossAndGradient(
                        outputs: o.baseAddress!,
                        targets: t.baseAddress!,
                        rows: outputs.rows,
                        columns: outputs.columns,
                        gradient: g.baseAddress!
                    )
                }
            }
        }
        return (loss, gradient)
    }

    /// Mean loss over `rows`, writing ∂loss/∂outputs into `gradient` (may be nil to skip it).
    func lossAndGradient(
        outputs o: UnsafePointer<Float>,
        targets t: UnsafePointer<Float>,
        rows: Int,
        columns: Int,
        gradient g: UnsafeMutablePointer<Float>?
    ) -> Float {
        let eps = Loss.epsilon
        let scale = 1 / Float(rows)
        var total: Double = 0
        switch self {
        case .sparseCategoricalCrossEntropy:
            g?.update(repeating: 0, count: rows * columns)
            for r in 0..<rows {
                let y = Int(t[r])
                let p = o[r * columns + y]
                let clipped = min(max(p, eps), 1 - eps)
                total -= Double(log(clipped))
                if let g, p == clipped { g[r * columns + y] = -scale / p }
            }
        case .binaryCrossEntropy:
            for i in 0..<rows * columns {
                let y = t[i / columns]
                let p = o[i]
                let clipped = min(max(p, eps), 1 - eps)
                total -= Double(y * log(clipped) + (1 - y) * log(1 - clipped))
                if let g {
                    g[i] = p == clipped ? scale * (clipped - y) / (clipped * (1 - clipped)) / Float(columns) : 0
                }
            }
            total /= Double(columns)
        case .meanSquaredError:
            for i in 0..<rows * columns {
                let d = o[i] - t[i]
                total += Double(d * d)
                g?[i] = 2 * d * scale / Float(columns)
            }
            total /= Double(columns)
        case .hinge:
            for r in 0..<rows {
                let y = Int(t[r])
                for c in 0..<columns {
                    let sign: Float = columns == 1 ? (y == 1 ? 1 : -1) : (c == y ? 1 : -1)
                    let margin = 1 - sign * o[r * columns + c]
                    if margin > 0 { total += Double(margin) }
                    g?[r * columns + c] = margin > 0 ? -sign * scale : 0
                }
            }
        }
        return Float(total / Double(rows))
    }

    /// Whether, paired with `activation` on the output layer, the gradient with respect to the
    /// pre-activation is simply (p − y)/rows, which is exact and avoids dividing by p.
    func fusesWith(_ activation: Activation) -> Bool {
        (self == .sparseCategoricalCrossEntropy && activation == .softmax)
            || (self == .binaryCrossEntropy && activation == .sigmoid)
    }
}
