import Foundation
import ModelwireData

/// L2-penalised logistic regression's objective on the full training set, as scikit-learn's
/// `LogisticRegression(solver="lbfgs")` minimises it:
///
///     F(W, b) = (1/n) Σᵢ −log pᵢ[yᵢ] + ‖W‖² / (2·C·n)
///
/// which has the same minimiser as scikit-learn's `½‖W‖² + C Σᵢ loss` (the intercepts are
/// not penalised). In terms of the mini-batch path's `λ·Σw²` added to the mean loss,
/// `λ = 1 / (2·C·n)`. Two classes use one logit z (P(class 1) = σ(z), scikit-learn's binomial
/// model); more use a softmax over one logit per class. Scores are products on the Float
/// kernels; the loss, the softmax and the parameters are Double. A class so that every
/// evaluation reuses the same score and residual buffers.
final class LogisticObjective {
    let x: Matrix
    let classIDs: [Int]
    let classes: Int
    let c: Double
    let threads: Int
    private var w: Matrix, z: Matrix, residual: Matrix, gradientW: Matrix

    init(x: Matrix, classIDs: [Int], classes: Int, c: Double, threads: Int) {
        self.x = x
        self.classIDs = classIDs
        self.classes = classes
        self.c = c
        self.threads = threads
        let k = classes == 2 ? 1 : classes
        self.w = Matrix(rows: x.columns, columns: k)
        self.z = Matrix(rows: x.rows, columns: k)
        self.residual = Matrix(rows: x.rows, columns: k)
        self.gradientW = Matrix(rows: x.columns, columns: k)
    }

    /// Logits per row: 1 for two classes, else one per class.
    var outputs: Int { self.classes == 2 ? 1 : self.classes }
    /// Parameters are `inputs × outputs` weights (row-major) followed by `outputs` intercepts.
    var parameterCount: Int { (self.x.columns + 1) * self.outputs }

    /// The objective and its gradient at `parameters`.
    func evaluate(_ parameters: [Double]) -> (Double, [Double]) {
        let n = self.x.rows
        let d = self.x.columns
        let k = self.outputs
        // The buffers move into locals for the loops (unique, so no copies) and back at the end.
        let empty = Matrix(rows: 0, columns: 0)
        var w = empty
        var z = empty
        var residual = empty
        var gradientW = empty
        swap(&w, &self.w)
        swap(&z, &self.z)
        swap(&residual, &self.residual)
        swap(&gradientW, &self.gradientW)
        defer {
            swap(&w, &self.w)
            swap(&z, &self.z)
            swap(&residual, &self.residual)
            swap(&gradientW, &self.gradientW)
        }
        for i in 0..<d * k { w.values[i] = Float(parameters[i]) }
        z.multiplyAdd(self.x, w, beta: 0, threads: self.threads)
        var loss = 0.0
        var interceptGradient = [Double](repeating: 0, count: k)
        let scale = 1 / Double(n)
        var p = [Double](repeating: 0, count: k)
        for r in 0..<n {
            let y = self.classIDs[r]
            if k == 1 {
                let s = Double(z.values[r]) + parameters[d]
                // log(1 + e^s) − y·s, stable on both sides.
                loss += (s > 0 ? s + log1p(exp(-s)) : log1p(exp(s))) - (y == 1 ? s : 0)
                let g = (1 / (1 + exp(-s)) - Double(y)) * scale
                residual.values[r] = Float(g)
                interceptGradient[0] += g
            } else {
                var top = -Double.infinity
                for j in 0..<k {
                    p[j] = Double(z.values[r * k + j]) + parameters[d * k + j]
                    top = max(top, p[j])
                }
                loss += top - p[y]
                var sum = 0.0
                for j in 0..<k {
                    p[j] = exp(p[j] - top)
                    sum += p[j]
                }
                loss += log(sum)
                for j in 0..<k {
                    let g = (p[j] / sum - (j == y ? 1 : 0)) * scale
                    residual.values[r * k + j] = Float(g)
                    interceptGradient[j] += g
                }
            }
        }
        gradientW.multiplyAdd(self.x, transposed: true, residual, beta: 0, threads: self.threads)
        let penalty = 1 / (self.c * Double(n))
        var gradient = [Double](repeating: 0, count: self.parameterCount)
        var squares = 0.0
        for i in 0..<d * k {
            squares += parameters[i] * parameters[i]
            gradient[i] = Double(gradientW.values[i]) + penalty * parameters[i]
        }
        for j in 0..<k { gradient[d * k + j] = interceptGradient[j] }
        return (loss * scale + penalty * squares / 2, gradient)
    }

    /// Weights and biases in `LinearParameters`' layout (one column per class: two classes
    /// become scores [0, z], whose softmax is [1 − σ(z), σ(z)]).
    func linearLayout(_ parameters: [Double]) -> (weights: [Float], biases: [Float]) {
        let d = self.x.columns
        let k = self.outputs
        guard k == 1 else {
            return (parameters[0..<d * k].map { Float($0) }, parameters[d * k..<d * k + k].map { Float($0) })
        }
        var weights = [Float](repeating: 0, count: d * 2)
        for i in 0..<d { weights[i * 2 + 1] = Float(parameters[i]) }
        return (weights, [0, Float(parameters[d])])
    }
}
