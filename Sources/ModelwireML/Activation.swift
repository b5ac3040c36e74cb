import Foundation

/// A layer's activation function.
public enum Activation: String, Sendable, Hashable, CaseIterable, Codable {
    /// The identity, for regression outputs and SVM scores.
    case linear
    /// max(0, x).
    case relu
    /// tanh(x).
    case tanh
    /// 1 / (1 + e^-x), for binary outputs.
    case sigmoid
    /// Per-row e^x / Σ e^x, for class probabilities.
    case softmax

    /// The matching code in CModelwireKernels.
    var kernelCode: Int {
        switch self {
        case .linear: 0
        case .relu: 1
        case .tanh: 2
        case .sigmoid: 3
        case .softmax: 4
        }
    }

    /// Applies the activation to a matrix (softmax per row).
    /// - Parameter x: Pre-activations.
    /// - Returns: Activations.
    public func apply(_ x: Matrix) -> Matrix {
        var y = x
        let (rows, columns) = (x.rows, x.columns)
        y.values.withUnsafeMutableBufferPointer { p in
            guard let base = p.baseAddress else { return }
            Kernels.biasActivation(base, rows: rows, columns: columns, bias: nil, activation: self)
        }
        return y
    }

    /// The gradient with respect to the pre-activation, given the gradient with respect to
    /// the output and the output itself (every derivative here is a function of the output).
    /// - Parameters:
    ///   - gradient: ∂L/∂y.
    ///   - output: y = activation(x).
    /// - Returns: ∂L/∂x.
    public func backward(_ gradient: Matrix, output: Matrix) -> Matrix {
        precondition(gradient.rows == output.rows && gradient.columns == output.columns, "shapes differ")
        var g = gradient
        g.values.withUnsafeMutableBufferPointer { pg in
            output.values.withUnsafeBufferPointer { py in
                guard let gb = pg.baseAddress, let yb = py.baseAddress else { return }
                Kernels.activationBackward(gb, output: yb, rows: output.rows, columns: output.columns, activation: self)
            }
        }
        return g
    }
}
