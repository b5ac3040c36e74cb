/// The primal of the L2-regularised squared-hinge linear SVM, for every one-vs-rest class at
/// once (the classes' problems are independent, so their sum has the same minimiser):
///
///     F(W, b) = Σₖ [ ½‖wₖ‖² + ½bₖ² + C Σᵢ max(0, 1 − yᵢₖ(xᵢ·wₖ + bₖ))² ]
///
/// with yᵢₖ = +1 for class k and −1 otherwise (one problem, for class 1, with two classes).
/// The intercept is penalised as in liblinear. This is what scikit-learn's `LinearSVC` solves
/// when `dual="auto"` picks the primal (more rows than features); F is once differentiable,
/// so L-BFGS applies. Products run on the Float kernels, sums in Double.
struct SquaredHingeObjective {
    let x: Matrix
    let classIDs: [Int]
    let classes: Int
    let c: Double
    let threads: Int

    /// One output for two classes, else one per class.
    var outputs: Int { self.classes == 2 ? 1 : self.classes }
    /// `inputs × outputs` weights (row-major), then `outputs` intercepts.
    var parameterCount: Int { (self.x.columns + 1) * self.outputs }

    /// The objective and its gradient at `parameters`.
    func evaluate(_ parameters: [Double]) -> (Double, [Double]) {
        let n = self.x.rows
        let d = self.x.columns
        let k = self.outputs
        let w = Matrix(rows: d, columns: k, values: parameters[0..<d * k].map { Float($0) })
        var scores = Matrix(rows: n, columns: k)
        scores.multiplyAdd(self.x, w, beta: 0, threads: self.threads)
        var residual = Matrix(rows: n, columns: k)
        var loss = 0.0
        var interceptGradient = [Double](repeating: 0, count: k)
        for r in 0..<n {
            let y = self.classIDs[r]
            for j in 0..<k {
                let sign: Double = (k == 1 ? y == 1 : y == j) ? 1 : -1
                let slack = 1 - sign * (Double(scores.values[r * k + j]) + parameters[d * k + j])
                guard slack > 0 else { continue }
                loss += slack * slack
                let g = -2 * self.c * sign * slack
                residual.values[r * k + j] = Float(g)
                interceptGradient[j] += g
            }
        }
        var gradientW = Matrix(rows: d, columns: k)
        gradientW.multiplyAdd(self.x, transposed: true, residual, beta: 0, threads: self.threads)
        var gradient = [Double](repeating: 0, count: self.parameterCount)
        var squares = 0.0
        for i in 0..<d * k {
            squares += parameters[i] * parameters[i]
            gradient[i] = Double(gradientW.values[i]) + parameters[i]
        }
        for j in 0..<k {
            squares += parameters[d * k + j] * parameters[d * k + j]
            gradient[d * k + j] = interceptGradient[j] + parameters[d * k + j]
        }
        return (squares / 2 + self.c * loss, gradient)
    }
}
