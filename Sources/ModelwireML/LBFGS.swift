/// Limited-memory BFGS for smooth unconstrained minimisation, with a strong-Wolfe line search
/// (Nocedal & Wright, algorithms 7.4, 3.5 and 3.6).
///
/// The stopping rules follow scipy's L-BFGS-B as scikit-learn calls it: the largest gradient
/// component ≤ `tolerance` (`gtol`), a relative objective decrease ≤ 64·ε (`ftol`), or
/// `maxIterations` iterations; 10 correction pairs, at most 50 evaluations per line search.
struct LBFGS {
    /// The end state of a run.
    struct Result {
        /// The minimiser found.
        var x: [Double]
        /// The objective there.
        var value: Double
        /// The largest absolute gradient component there.
        var gradientNorm: Double
        /// Iterations done.
        var iterations: Int
        /// Whether the gradient or objective test ended the run (not the iteration limit).
        var converged: Bool
    }

    var tolerance: Double
    var maxIterations: Int
    var memory = 10
    var maxLineSearch = 50

    /// Minimises `objective`, which returns the value and gradient at a point.
    /// - Parameters:
    ///   - start: The initial point.
    ///   - objective: Value and gradient.
    ///   - isCancelled: Checked once per iteration.
    /// - Throws: `TrainingError.cancelled`, or `.diverged` when the objective is not finite.
    func minimize(
        from start: [Double],
        objective: ([Double]) -> (Double, [Double]),
        isCancelled: () -> Bool
    ) throws(TrainingError) -> Result {
        var x = start
        var (f, g) = objective(x)
        guard f.isFinite else { throw TrainingError(.diverged, "the objective is \(f) at the start") }
        var s = [[Double]]()
        var y = [[Double]]()
        var rho = [Double]()
        var iterations = 0
        while true {
            let gMax = g.reduce(0) { max($0, abs($1)) }
            if gMax <= self.tolerance {
                return Result(x: x, value: f, gradientNorm: gMax, iterations: iterations, converged: true)
            }
            if iterations >= self.maxIterations {
                return Result(x: x, value: f, gradientNorm: gMax, iterations: iterations, converged: false)
            }
            if isCancelled() {
                throw TrainingError(.cancelled, "training cancelled after \(iterations) L-BFGS iterations")
            }
            var p = Self.direction(g, s: s, y: y, rho: rho)
            var slope = dot(g, p)
            if slope >= 0 {  // not a descent direction (numerical trouble): restart from steepest descent
                s.removeAll()
                y.removeAll()
                rho.removeAll()
                p = g.map { -$0 }
                slope = dot(g, p)
            }
            let initialStep = s.isEmpty ? min(1, 1 / dot(g, g).squareRoot()) : 1
            guard
                let step = self.lineSearch(
                    x: x,
                    f: f,
                    slope: slope,
                    direction: p,
                    initialStep: initialStep,
                    objective: objective
                )
            else {
                return Result(x: x, value: f, gradientNorm: gMax, iterations: iterations, converged: false)
            }
            iterations += 1
            let sk = zip(step.x, x).map { $0 - $1 }
            let yk = zip(step.g, g).map { $0 - $1 }
            let sy = dot(sk, yk)
            if sy > 1e-10 * dot(yk, yk) {
                if s.count == self.memory {
                    s.removeFirst()
                    y.removeFirst()
                    rho.removeFirst()
                }
                s.append(sk)
                y.append(yk)
                rho.append(1 / sy)
            }
            let decrease = (f - step.f) / max(abs(f), abs(step.f), 1)
            (x, f, g) = (step.x, step.f, step.g)
            guard f.isFinite else {
                throw TrainingError(.diverged, "the objective became \(f) in iteration \(iterations)")
            }
            if decrease <= 64 * Double.ulpOfOne {
                return Result(
                    x: x,
                    value: f,
                    gradientNorm: g.reduce(0) { max($0, abs($1)) },
                    iterations: iterations,
                    converged: true
                )
            }
        }
    }

    /// The two-loop recursion: −H·g for the current inverse-Hessian estimate H.
    private static func direction(_ g: [Double], s: [[Double]], y: [[Double]], rho: [Double]) -> [Double] {
        var q = g
        var alpha = [Double](repeating: 0, count: s.count)
        for i in stride(from: s.count - 1, through: 0, by: -1) {
            alpha[i] = rho[i] * dot(s[i], q)
            axpy(-alpha[i], y[i], &q)
        }
        if let sLast = s.last, let yLast = y.last {
            let gamma = dot(sLast, yLast) / dot(yLast, yLast)
            for j in q.indices { q[j] *= gamma }
        }
        for i in s.indices {
            let beta = rho[i] * dot(y[i], q)
            axpy(alpha[i] - beta, s[i], &q)
        }
        return q.map { -$0 }
    }

    private struct Point {
        var step: Double, f: Double, slope: Double, x: [Double], g: [Double]
    }

    /// A step satisfying the strong Wolfe conditions (c1 = 1e-4, c2 = 0.9), or nil.
    private func lineSearch(
        x: [Double],
        f: Double,
        slope: Double,
        direction p: [Double],
        initialStep: Double,
        objective: ([Double]) -> (Double, [Double])
    ) -> Point? {
        let c1 = 1e-4
        let c2 = 0.9
        var evaluations = 0
        func evaluate(_ a: Double) -> Point {
            evaluations += 1
            var xa = x
            axpy(a, p, &xa)
            let (fa, ga) = objective(xa)
            return Point(step: a, f: fa, slope: dot(ga, p), x: xa, g: ga)
        }
        let origin = Point(step: 0, f: f, slope: slope, x: x, g: [])
        func zoom(_ lowStart: Point, _ highStart: Point) -> Point? {
            var (low, high) = (lowStart, highStart)
            while evaluations < self.maxLineSearch {
                let a = Self.interpolate(low, high)
                let trial = evaluate(a)
                if !trial.f.isFinite || trial.f > f + c1 * a * slope || trial.f >= low.f {
                    high = trial
                } else {
                    if abs(trial.slope) <= -c2 * slope { return trial }
                    if trial.slope * (high.step - low.step) >= 0 { high = low }
                    low = trial
                }
                if abs(high.step - low.step) < 1e-16 * max(high.step, low.step, 1) { break }
            }
            return low.step > 0 ? low : nil
        }
        var previous = origin
        var a = initialStep
        while evaluations < self.maxLineSearch {
            let trial = evaluate(a)
            if !trial.f.isFinite || trial.f > f + c1 * a * slope || (previous.step > 0 && trial.f >= previous.f) {
                return zoom(previous, trial)
            }
            if abs(trial.slope) <= -c2 * slope { return trial }
            if trial.slope >= 0 { return zoom(trial, previous) }
            previous = trial
            a *= 2
        }
        return previous.step > 0 ? previous : nil
    }

    /// The minimiser of the cubic through two points' values and slopes, kept inside the middle
    /// 80% of the interval (bisection when the cubic has no usable minimum).
    private static func interpolate(_ a: Point, _ b: Point) -> Double {
        let lo = min(a.step, b.step)
        let hi = max(a.step, b.step)
        let width = hi - lo
        if a.f.isFinite, b.f.isFinite {
            let d1 = a.slope + b.slope - 3 * (a.f - b.f) / (a.step - b.step)
            let radicand = d1 * d1 - a.slope * b.slope
            if radicand >= 0 {
                let d2 = (b.step > a.step ? 1.0 : -1.0) * radicand.squareRoot()
                let t = b.step - (b.step - a.step) * (b.slope + d2 - d1) / (b.slope - a.slope + 2 * d2)
                if t.isFinite, t >= lo + 0.1 * width, t <= hi - 0.1 * width { return t }
            }
        }
        return lo + width / 2
    }
}

/// Σ a[i]·b[i].
func dot(_ a: [Double], _ b: [Double]) -> Double {
    var s = 0.0
    for i in a.indices { s += a[i] * b[i] }
    return s
}

/// y += alpha·x.
func axpy(_ alpha: Double, _ x: [Double], _ y: inout [Double]) {
    for i in y.indices { y[i] += alpha * x[i] }
}
