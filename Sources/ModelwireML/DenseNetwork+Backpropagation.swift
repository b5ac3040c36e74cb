/// Buffers for one batch's forward and backward pass, allocated once per training run so
/// that no step allocates.
///
/// A class because it owns manually allocated memory, freed in `deinit`; it never leaves
/// the training call that made it.
final class BackpropagationWorkspace {
    /// The largest batch the buffers hold.
    let capacity: Int
    /// Per layer: the layer's outputs for the batch (capacity × units).
    let activations: [UnsafeMutablePointer<Float>]
    /// Two capacity × maxWidth buffers for the backward deltas.
    let deltas: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
    /// ∂loss/∂parameters, laid out like `DenseNetwork.parameters`.
    let gradient: UnsafeMutablePointer<Float>
    /// The parameter count.
    let parameterCount: Int

    init(network: DenseNetwork, capacity: Int) {
        self.capacity = capacity
        self.activations = network.layers.map { layer in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: capacity * layer.units)
            p.initialize(repeating: 0, count: capacity * layer.units)
            return p
        }
        let width = capacity * network.maxWidth
        let a = UnsafeMutablePointer<Float>.allocate(capacity: width)
        a.initialize(repeating: 0, count: width)
        let b = UnsafeMutablePointer<Float>.allocate(capacity: width)
        b.initialize(repeating: 0, count: width)
        self.deltas = (a, b)
        self.parameterCount = network.parameters.count
        self.gradient = .allocate(capacity: network.parameters.count)
        self.gradient.initialize(repeating: 0, count: network.parameters.count)
    }

    deinit {
        for p in self.activations { p.deallocate() }
        self.deltas.0.deallocate()
        self.deltas.1.deallocate()
        self.gradient.deallocate()
    }
}

extension DenseNetwork {
    /// Runs a batch forward and backward: returns the mean loss (plus the L2 penalty
    /// `l2 · Σ w²` over weights, biases excluded, as Keras's `l2` regulariser does) and leaves
    /// ∂loss/∂parameters in `workspace.gradient` and each layer's outputs in `workspace.activations`.
    func backpropagate(
        _ x: UnsafePointer<Float>,
        targets: UnsafePointer<Float>,
        rows: Int,
        l2: Float,
        workspace: BackpropagationWorkspace,
        threads: Int = 1,
        soft: (temperature: Float, alpha: Float, probabilities: UnsafePointer<Float>)? = nil
    ) -> Float {
        precondition(rows <= workspace.capacity && rows > 0, "batch larger than the workspace")
        return self.parameters.withUnsafeBufferPointer { params in
            let p = params.baseAddress!
            let g = workspace.gradient
            // Forward, keeping every layer's output.
            var current = x
            for (l, layer) in self.layers.enumerated() {
                let out = workspace.activations[l]
                Kernels.denseLayer(
                    m: rows,
                    n: layer.units,
                    k: layer.inputs,
                    a: current,
                    lda: layer.inputs,
                    b: p + layer.weightOffset,
                    ldb: layer.units,
                    bias: p + layer.biasOffset,
                    activation: layer.activation,
                    c: out,
                    ldc: layer.units,
                    threads: threads
                )
                current = UnsafePointer(out)
            }
            // Output delta: ∂loss/∂(pre-activation of the last layer).
            let lastIndex = self.layers.count - 1
            let last = self.layers[lastIndex]
            let output = workspace.activations[lastIndex]
            var delta = workspace.deltas.0
            var spare = workspace.deltas.1
            let fused = self.loss.fusesWith(last.activation)
            var loss = self.loss.lossAndGradient(
                outputs: output,
                targets: targets,
                rows: rows,
                columns: last.units,
                gradient: fused ? nil : delta
            )
            if fused {
                // softmax + cross-entropy and sigmoid + binary cross-entropy: (p − y) / rows.
                let scale = 1 / Float(rows)
                let n = rows * last.units
                if self.loss == .sparseCategoricalCrossEntropy, let soft {
                    loss = Distillation.fusedDelta(
                        output,
                        labels: targets,
                        teacher: soft.probabilities,
                        rows: rows,
                        classes: last.units,
                        temperature: soft.temperature,
                        alpha: soft.alpha,
                        crossEntropy: loss,
                        into: delta
                    )
                } else if self.loss == .sparseCategoricalCrossEntropy {
                    for i in 0..<n { delta[i] = output[i] * scale }
                    for r in 0..<rows { delta[r * last.units + Int(targets[r])] -= scale }
                } else {
                    let perOutput = scale / Float(last.units)
                    for i in 0..<n { delta[i] = (output[i] - targets[i / last.units]) * perOutput }
                }
            } else {
                Kernels.activationBackward(
                    delta,
                    output: output,
                    rows: rows,
                    columns: last.units,
                    activation: last.activation
                )
            }
            // Backward through the layers.
            for l in stride(from: lastIndex, through: 0, by: -1) {
                let layer = self.layers[l]
                let input = l == 0 ? x : UnsafePointer(workspace.activations[l - 1])
                Kernels.gemm(
                    transA: true,
                    transB: false,
                    m: layer.inputs,
                    n: layer.units,
                    k: rows,
                    a: input,
                    lda: layer.inputs,
                    b: delta,
                    ldb: layer.units,
                    beta: 0,
                    c: g + layer.weightOffset,
                    ldc: layer.units,
                    threads: threads
                )
                Kernels.columnSums(delta, rows: rows, columns: layer.units, into: g + layer.biasOffset)
                if l > 0 {
                    Kernels.gemm(
                        transA: false,
                        transB: true,
                        m: rows,
                        n: layer.inputs,
                        k: layer.units,
                        a: delta,
                        lda: layer.units,
                        b: p + layer.weightOffset,
                        ldb: layer.units,
                        beta: 0,
                        c: spare,
                        ldc: layer.inputs,
                        threads: threads
                    )
                    let below = self.layers[l - 1]
                    Kernels.activationBackward(
                        spare,
                        output: workspace.activations[l - 1],
                        rows: rows,
                        columns: below.units,
                        activation: below.activation
                    )
                    swap(&delta, &spare)
                }
            }
            if l2 > 0 {
                var penalty: Double = 0
                for layer in self.layers {
                    for i in layer.weightOffset..<layer.biasOffset {
                        penalty += Double(p[i] * p[i])
                        g[i] += 2 * l2 * p[i]
                    }
                }
                loss += l2 * Float(penalty)
            }
            return loss
        }
    }

    /// The mean loss of a batch and its gradient with respect to every parameter (laid out
    /// like `parameters`); used by gradient checks and by callers that train by hand.
    /// - Parameters:
    ///   - input: rows × inputs.
    ///   - targets: A class id (as Float) or value per row (rows × outputs for multi-output MSE).
    ///   - l2: The L2 coefficient.
    /// - Returns: The loss and the gradient.
    public func lossAndGradient(_ input: Matrix, targets: [Float], l2: Float = 0) -> (loss: Float, gradient: [Float]) {
        let workspace = BackpropagationWorkspace(network: self, capacity: input.rows)
        let loss = input.values.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { t in
                self.backpropagate(
                    x.baseAddress!,
                    targets: t.baseAddress!,
                    rows: input.rows,
                    l2: l2,
                    workspace: workspace
                )
            }
        }
        return (loss, Array(UnsafeBufferPointer(start: workspace.gradient, count: workspace.parameterCount)))
    }
}
