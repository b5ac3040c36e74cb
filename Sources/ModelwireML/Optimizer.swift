import CModelwireKernels
import Foundation

/// How parameters move against their gradient.
public enum OptimizerKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// Full-batch gradient descent: one step per epoch over every training row.
    case gradientDescent
    /// Mini-batch stochastic gradient descent, `p -= lr · g`.
    case sgd
    /// SGD with momentum (Keras form): `v = μv − lr·g; p += v`.
    case momentum
    /// Nesterov momentum (Keras form): `v = μv − lr·g; p += μv − lr·g`.
    case nesterov
    /// Adam (Keras form, ε not bias-corrected).
    case adam
}

/// Optimizer hyper-parameters. Defaults are Keras's: Adam lr 0.001, β1 0.9, β2 0.999, ε 1e-7.
public struct OptimizerSettings: Sendable, Hashable {
    /// The method.
    public var kind: OptimizerKind
    /// The learning rate.
    public var learningRate: Float
    /// Momentum μ, for `.momentum` and `.nesterov`.
    public var momentum: Float
    /// Adam's first-moment decay.
    public var beta1: Float
    /// Adam's second-moment decay.
    public var beta2: Float
    /// Adam's ε.
    public var epsilon: Float

    /// Creates settings.
    /// - Parameters:
    ///   - kind: The method (Adam by default).
    ///   - learningRate: Step size (0.001; for SGD-style methods Keras uses 0.01).
    ///   - momentum: μ (0.9).
    ///   - beta1: β1 (0.9).
    ///   - beta2: β2 (0.999).
    ///   - epsilon: ε (1e-7).
    public init(
        kind: OptimizerKind = .adam,
        learningRate: Float = 0.001,
        momentum: Float = 0.9,
        beta1: Float = 0.9,
        beta2: Float = 0.999,
        epsilon: Float = 1e-7
    ) {
        self.kind = kind
        self.learningRate = learningRate
        self.momentum = momentum
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    /// Adam with Keras's defaults.
    public static let adam = OptimizerSettings()
}

/// An optimizer's running state (velocities or moments) for a flat parameter vector.
struct Optimizer {
    let settings: OptimizerSettings
    private var first: [Float]
    private var second: [Float]
    private var step = 0

    init(settings: OptimizerSettings, parameterCount: Int) {
        self.settings = settings
        let needsFirst = settings.kind == .momentum || settings.kind == .nesterov || settings.kind == .adam
        self.first = Array(repeating: 0, count: needsFirst ? parameterCount : 0)
        self.second = Array(repeating: 0, count: settings.kind == .adam ? parameterCount : 0)
    }

    /// Moves `parameters` one step against `gradient`.
    mutating func update(_ parameters: inout [Float], gradient g: UnsafePointer<Float>) {
        self.step += 1
        let s = self.settings
        let lr = s.learningRate
        let n = parameters.count
        parameters.withUnsafeMutableBufferPointer { pp in
            let p = pp.baseAddress!
            switch s.kind {
            case .gradientDescent, .sgd:
                for i in 0..<n { p[i] -= lr * g[i] }
            case .momentum, .nesterov:
                let mu = s.momentum
                let nesterov = s.kind == .nesterov
                self.first.withUnsafeMutableBufferPointer { vv in
                    let v = vv.baseAddress!
                    for i in 0..<n {
                        v[i] = mu * v[i] - lr * g[i]
                        p[i] += nesterov ? mu * v[i] - lr * g[i] : v[i]
                    }
                }
            case .adam:
                let t = Float(self.step)
                let alpha = lr * (1 - pow(s.beta2, t)).squareRoot() / (1 - pow(s.beta1, t))
                self.first.withUnsafeMutableBufferPointer { m in
                    self.second.withUnsafeMutableBufferPointer { v in
                        CModelwireKernels_adamUpdate(
                            p,
                            g,
                            m.baseAddress!,
                            v.baseAddress!,
                            n,
                            alpha,
                            1 - s.beta1,
                            1 - s.beta2,
                            s.epsilon
                        )
                    }
                }
            }
        }
    }
}

private func pow(_ base: Float, _ exponent: Float) -> Float {
    Float(Foundation.pow(Double(base), Double(exponent)))
}
