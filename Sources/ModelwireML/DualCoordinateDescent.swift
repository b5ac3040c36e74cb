import ModelwireData

/// A binary L2-regularised linear SVM solved in the dual by coordinate descent with
/// shrinking (Hsieh et al. 2008; liblinear's `solve_l2r_l1l2_svc`, scikit-learn's LinearSVC):
///
///     min_w ½‖w‖² + C Σᵢ ξ(yᵢ w·xᵢ),   ξ(m) = max(0, 1 − m) or max(0, 1 − m)²
///
/// The intercept is the weight of a constant feature 1 and is penalised like the others
/// (liblinear with `intercept_scaling = 1`). The loop ends when the projected gradients'
/// spread `max PG − min PG` falls to `tolerance` over all (unshrunk) variables, or after
/// `maxIterations` passes; each pass visits the active variables in a seeded random order.
struct DualCoordinateDescent {
    /// Rows augmented with the constant 1, in Double, each padded to `stride` values.
    struct Problem {
        let x: [Double]
        let rows: Int
        /// Features + 1 (the intercept's constant).
        let width: Int
        let stride: Int

        /// Copies standardised features and appends the intercept's constant.
        init(_ data: Dataset) {
            let d = data.columns
            self.rows = data.rows
            self.width = d + 1
            self.stride = (d + 1 + 3) / 4 * 4
            var x = [Double](repeating: 0, count: self.rows * self.stride)
            for r in 0..<self.rows {
                for j in 0..<d { x[r * self.stride + j] = Double(data.features[r * d + j]) }
                x[r * self.stride + d] = 1
            }
            self.x = x
        }
    }

    /// The dual and primal solution.
    struct Solution {
        /// `width` primal weights (the last is the intercept).
        var w: [Double]
        /// One dual variable per row.
        var alpha: [Double]
        /// Passes done.
        var iterations: Int
        /// Whether the tolerance was met before `maxIterations`.
        var converged: Bool
    }

    let c: Double
    let loss: LinearSpec.SVMLoss
    let tolerance: Double
    let maxIterations: Int
    let shrinking: Bool

    /// The diagonal added to Q and the upper bound of each αᵢ.
    var diagonal: Double { self.loss == .squaredHinge ? 0.5 / self.c : 0 }
    var upperBound: Double { self.loss == .squaredHinge ? .infinity : self.c }

    /// Solves one binary problem; `labels[i]` is +1 or −1.
    func solve(
        _ problem: Problem,
        labels: [Double],
        generator: inout SeededGenerator,
        isCancelled: () -> Bool
    ) throws(TrainingError) -> Solution {
        let n = problem.rows
        let stride = problem.stride
        let diag = self.diagonal
        let upper = self.upperBound
        var w = [Double](repeating: 0, count: stride)
        var alpha = [Double](repeating: 0, count: n)
        var index = Array(0..<n)
        var qd = [Double](repeating: diag, count: n)
        problem.x.withUnsafeBufferPointer { x in
            for i in 0..<n { qd[i] += dotProduct(x.baseAddress! + i * stride, x.baseAddress! + i * stride, stride) }
        }
        var active = n
        var pgMaxOld = Double.infinity
        var pgMinOld = -Double.infinity
        var iteration = 0
        var converged = false
        try problem.x.withUnsafeBufferPointer { (x) throws(TrainingError) in
            try w.withUnsafeMutableBufferPointer { (wp) throws(TrainingError) in
                while iteration < self.maxIterations {
                    if isCancelled() {
                        throw TrainingError(
                            .cancelled,
                            "training cancelled after \(iteration) coordinate descent passes"
                        )
                    }
                    var pgMax = -Double.infinity
                    var pgMin = Double.infinity
                    for i in 0..<active {
                        let j = i + Int(generator.next() % UInt64(active - i))
                        index.swapAt(i, j)
                    }
                    var s = 0
                    while s < active {
                        let i = index[s]
                        let yi = labels[i]
                        let row = x.baseAddress! + i * stride
                        let g = yi * dotProduct(wp.baseAddress!, row, stride) - 1 + alpha[i] * diag
                        var pg = 0.0
                        if alpha[i] == 0 {
                            if self.shrinking, g > pgMaxOld {
                                active -= 1
                                index.swapAt(s, active)
                                continue
                            }
                            if g < 0 { pg = g }
                        } else if alpha[i] == upper {
                            if self.shrinking, g < pgMinOld {
                                active -= 1
                                index.swapAt(s, active)
                                continue
                            }
                            if g > 0 { pg = g }
                        } else {
                            pg = g
                        }
                        pgMax = max(pgMax, pg)
                        pgMin = min(pgMin, pg)
                        if abs(pg) > 1e-12 {
                            let old = alpha[i]
                            alpha[i] = min(max(old - g / qd[i], 0), upper)
                            let delta = (alpha[i] - old) * yi
                            for t in 0..<stride { wp[t] += delta * row[t] }
                        }
                        s += 1
                    }
                    iteration += 1
                    if pgMax - pgMin <= self.tolerance {
                        if active == n {
                            converged = true
                            break
                        }
                        active = n
                        pgMaxOld = .infinity
                        pgMinOld = -.infinity
                        continue
                    }
                    pgMaxOld = pgMax <= 0 ? .infinity : pgMax
                    pgMinOld = pgMin >= 0 ? -.infinity : pgMin
                }
            }
        }
        return Solution(w: Array(w.prefix(problem.width)), alpha: alpha, iterations: iteration, converged: converged)
    }
}

extension DualCoordinateDescent {
    /// ½‖w‖² + C·Σᵢ ξ(yᵢ w·xᵢ) (the intercept included in ‖w‖, as liblinear).
    func primalObjective(_ problem: Problem, labels: [Double], w: [Double]) -> Double {
        var total = 0.0
        for t in 0..<problem.width { total += w[t] * w[t] / 2 }
        for i in 0..<problem.rows {
            var s = 0.0
            for t in 0..<problem.width { s += w[t] * problem.x[i * problem.stride + t] }
            let slack = max(0, 1 - labels[i] * s)
            total += self.c * (self.loss == .squaredHinge ? slack * slack : slack)
        }
        return total
    }
}

/// Σ a[i]·b[i] over `count` values (a multiple of 4), four partial sums.
@inline(__always)
private func dotProduct(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ count: Int) -> Double {
    var s0 = 0.0
    var s1 = 0.0
    var s2 = 0.0
    var s3 = 0.0
    var i = 0
    while i < count {
        s0 += a[i] * b[i]
        s1 += a[i + 1] * b[i + 1]
        s2 += a[i + 2] * b[i + 2]
        s3 += a[i + 3] * b[i + 3]
        i += 4
    }
    return (s0 + s1) + (s2 + s3)
}
