/// Integrated gradients (Sundararajan et al. 2017) of a dense net, in the net's input space
/// (standardised features, where the training-mean baseline is the zero row, or raw ones).
///
/// Attribution i = (x_i − b_i) · ∫₀¹ ∂f/∂x_i(b + α(x − b)) dα by the trapezoid rule over `steps`
/// intervals: the path's `steps + 1` points go through the net as one batch, forward and then
/// backward to the inputs. The values equal those of the raw features: integrated gradients is
/// unchanged by a per-feature affine change of units, and standardisation is one.
///
/// A row whose completeness error is above the tolerance, 0.01 · max(|f(x) − f(baseline)|, 1e-3),
/// is integrated again with twice the steps, up to `maxSteps` (ReLU kinks along the path make the
/// trapezoid rule converge slowly on some rows); the row reports the steps it took.
struct IntegratedGradients {
    let parameters: DenseNetParameters
    let steps: Int
    let maxSteps: Int

    /// The attributions of one row of network inputs against a baseline row.
    /// - Parameters:
    ///   - x: One row of network inputs.
    ///   - baseline: The baseline, in network inputs too.
    ///   - classId: The class whose probability is explained (nil: regression, the value).
    func explain(_ x: [Float], from baseline: [Float], classId: Int?) -> RowAttribution {
        var steps = self.steps
        while true {
            let row = self.integrate(x, from: baseline, classId: classId, steps: steps)
            let tolerance = 0.01 * max(abs(row.value - row.baselineValue), 1e-3)
            if row.completenessError <= tolerance || steps * 2 > self.maxSteps { return row }
            steps *= 2
        }
    }

    private func integrate(_ x: [Float], from baseline: [Float], classId: Int?, steps: Int) -> RowAttribution {
        let points = steps + 1
        let inputs = x.count
        var path = [Float](repeating: 0, count: points * inputs)
        for k in 0..<points {
            let alpha = Float(k) / Float(steps)
            for i in 0..<inputs { path[k * inputs + i] = baseline[i] + alpha * (x[i] - baseline[i]) }
        }
        let (outputs, gradients) = self.gradients(path, rows: points, classId: classId)
        var attributions = [Float](repeating: 0, count: inputs)
        let interior = 1 / Double(steps)
        for i in 0..<inputs {
            var integral = 0.5 * interior * (Double(gradients[i]) + Double(gradients[steps * inputs + i]))
            for k in 1..<steps { integral += interior * Double(gradients[k * inputs + i]) }
            attributions[i] = Float((Double(x[i]) - Double(baseline[i])) * integral)
        }
        return RowAttribution(
            classId: classId,
            attributions: attributions,
            value: outputs[steps],
            baselineValue: outputs[0],
            steps: steps
        )
    }

    /// f and ∂f/∂input per row of `input` (rows × inputs): a forward pass keeping every layer's
    /// output, then the chain rule back through each activation's derivative and weights.
    private func gradients(_ input: [Float], rows: Int, classId: Int?) -> (f: [Float], gradient: [Float]) {
        let layers = self.parameters.layers
        var activations: [[Float]] = []
        activations.reserveCapacity(layers.count)
        for (l, layer) in layers.enumerated() {
            var out = [Float](repeating: 0, count: rows * layer.units)
            let previous = l == 0 ? input : activations[l - 1]
            previous.withUnsafeBufferPointer { a in
                layer.weights.withUnsafeBufferPointer { w in
                    layer.biases.withUnsafeBufferPointer { b in
                        out.withUnsafeMutableBufferPointer { c in
                            Kernels.denseLayer(
                                m: rows,
                                n: layer.units,
                                k: layer.inputs,
                                a: a.baseAddress!,
                                lda: layer.inputs,
                                b: w.baseAddress!,
                                ldb: layer.units,
                                bias: b.baseAddress!,
                                activation: layer.activation,
                                c: c.baseAddress!,
                                ldc: layer.units
                            )
                        }
                    }
                }
            }
            activations.append(out)
        }
        // f is output `classId` (one sigmoid unit: class 1 is p, class 0 is 1 − p), or the value.
        let last = layers[layers.count - 1]
        let output = activations[layers.count - 1]
        let unit = last.units == 1 ? 0 : classId ?? 0
        let sign: Float = last.units == 1 && classId == 0 ? -1 : 1
        var f = [Float](repeating: 0, count: rows)
        var delta = [Float](repeating: 0, count: rows * last.units)
        for r in 0..<rows {
            f[r] = sign < 0 ? 1 - output[r * last.units] : output[r * last.units + unit]
            delta[r * last.units + unit] = sign
        }
        for l in stride(from: layers.count - 1, through: 0, by: -1) {
            let layer = layers[l]
            delta.withUnsafeMutableBufferPointer { d in
                activations[l].withUnsafeBufferPointer { y in
                    Kernels.activationBackward(
                        d.baseAddress!,
                        output: y.baseAddress!,
                        rows: rows,
                        columns: layer.units,
                        activation: layer.activation
                    )
                }
            }
            var previous = [Float](repeating: 0, count: rows * layer.inputs)
            delta.withUnsafeBufferPointer { d in
                layer.weights.withUnsafeBufferPointer { w in
                    previous.withUnsafeMutableBufferPointer { p in
                        Kernels.gemm(
                            transA: false,
                            transB: true,
                            m: rows,
                            n: layer.inputs,
                            k: layer.units,
                            a: d.baseAddress!,
                            lda: layer.units,
                            b: w.baseAddress!,
                            ldb: layer.units,
                            beta: 0,
                            c: p.baseAddress!,
                            ldc: layer.inputs
                        )
                    }
                }
            }
            delta = previous
        }
        return (f, delta)
    }
}
