import Dispatch
import ModelwireData

/// A fully connected feed-forward network of any depth, its parameters stored flat.
///
/// Layer `l` maps `inputs` to `units` values: `y = activation(x · W + b)`, with W stored
/// inputs × units row-major (the weight from input i to unit j at `i * units + j`). All
/// weights and biases live in one flat `parameters` array (per layer: weights, then biases),
/// so an optimizer updates the whole network in one pass.
public struct DenseNetwork: Sendable, Equatable {
    /// The shape of one layer.
    public struct LayerShape: Sendable, Hashable {
        /// Inputs to the layer.
        public var inputs: Int
        /// Units (outputs) of the layer.
        public var units: Int
        /// The layer's activation.
        public var activation: Activation
        /// Where the layer's weights start in `parameters`.
        var weightOffset: Int
        /// Where the layer's biases start in `parameters`.
        var biasOffset: Int { self.weightOffset + self.inputs * self.units }
    }

    /// The layers, input to output.
    public private(set) var layers: [LayerShape]
    /// The training loss.
    public var loss: Loss
    /// Every weight and bias, flat (see the type's description).
    public var parameters: [Float]

    /// The network's input width.
    public var inputs: Int { self.layers[0].inputs }
    /// The network's output width.
    public var outputs: Int { self.layers[self.layers.count - 1].units }
    /// The widest layer, input included.
    var maxWidth: Int { self.layers.reduce(self.inputs) { max($0, $1.units) } }

    /// Creates a network with zero parameters.
    /// - Parameters:
    ///   - inputs: Input width.
    ///   - layers: (units, activation) per layer, the last one being the output layer.
    ///   - loss: The training loss.
    public init(inputs: Int, layers: [(units: Int, activation: Activation)], loss: Loss) {
        precondition(inputs > 0 && !layers.isEmpty && layers.allSatisfy { $0.units > 0 }, "empty network")
        var shapes = [LayerShape]()
        var width = inputs
        var offset = 0
        for layer in layers {
            shapes.append(
                LayerShape(inputs: width, units: layer.units, activation: layer.activation, weightOffset: offset)
            )
            offset += width * layer.units + layer.units
            width = layer.units
        }
        self.layers = shapes
        self.loss = loss
        self.parameters = Array(repeating: 0, count: offset)
    }

    /// Initialises weights from a seeded generator; biases become zero.
    /// - Parameters:
    ///   - initializer: Glorot (Xavier) uniform, limit √(6 / (fan_in + fan_out)), Keras's default
    ///     for every layer; or He uniform, limit √(6 / fan_in), on relu layers (Glorot elsewhere).
    ///   - generator: The seeded generator.
    public mutating func initialize(
        _ initializer: WeightInitializer = .glorotUniform,
        using generator: inout SeededGenerator
    ) {
        for layer in self.layers {
            let limit: Float =
                initializer == .heUniform && layer.activation == .relu
                ? (6 / Float(layer.inputs)).squareRoot()
                : (6 / Float(layer.inputs + layer.units)).squareRoot()
            for i in 0..<layer.inputs * layer.units {
                self.parameters[layer.weightOffset + i] = (generator.nextUnitFloat() * 2 - 1) * limit
            }
            for j in 0..<layer.units { self.parameters[layer.biasOffset + j] = 0 }
        }
    }

    /// The weights of layer `l`, inputs × units row-major.
    public func weights(ofLayer l: Int) -> [Float] {
        let layer = self.layers[l]
        return Array(self.parameters[layer.weightOffset..<layer.biasOffset])
    }

    /// The biases of layer `l`.
    public func biases(ofLayer l: Int) -> [Float] {
        let layer = self.layers[l]
        return Array(self.parameters[layer.biasOffset..<layer.biasOffset + layer.units])
    }

    /// Replaces layer `l`'s weights and biases.
    mutating func setLayer(_ l: Int, weights: [Float], biases: [Float]) {
        let layer = self.layers[l]
        precondition(weights.count == layer.inputs * layer.units && biases.count == layer.units, "layer size")
        self.parameters.replaceSubrange(layer.weightOffset..<layer.biasOffset, with: weights)
        self.parameters.replaceSubrange(layer.biasOffset..<layer.biasOffset + layer.units, with: biases)
    }

    /// Rows per block in `forward`: a block's activations stay in L1/L2 across layers.
    static let forwardBlockRows = 256

    /// The network's outputs for a batch of rows, computed in blocks of 256 rows (split over
    /// `threads` threads when there are several blocks).
    /// - Parameters:
    ///   - input: rows × inputs.
    ///   - threads: Threads for large batches.
    /// - Returns: rows × outputs.
    public func forward(_ input: Matrix, threads: Int = 1) -> Matrix {
        self.forward(input, threads: threads, sparse: [])
    }

    /// `forward(_:threads:)`, with layer `l` multiplied by `sparse[l]` where that is set (the same
    /// weights without their zeros) instead of by the dense sgemm.
    func forward(_ input: Matrix, threads: Int, sparse: [SparseWeights?]) -> Matrix {
        precondition(input.columns == self.inputs, "input width differs from the network's")
        let rows = input.rows
        let outputs = self.outputs
        let inputs = self.inputs
        var output = Matrix(rows: rows, columns: outputs)
        guard rows > 0 else { return output }
        let block = Self.forwardBlockRows
        let blocks = (rows + block - 1) / block
        let parts = max(1, min(threads, blocks))
        let scratchSize = min(rows, block) * self.maxWidth
        input.values.withUnsafeBufferPointer { x in
            output.values.withUnsafeMutableBufferPointer { out in
                let (ux, uo) = (UncheckedPointer(x.baseAddress!), UncheckedPointer(UnsafePointer(out.baseAddress!)))
                // Each part writes its own rows of `out`; concurrentPerform returns when all are done.
                let run: @Sendable (Int) -> Void = { part in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * scratchSize) { scratch in
                        var b = part
                        while b < blocks {
                            let start = b * block
                            let count = min(block, rows - start)
                            self.forward(
                                ux.pointer + start * inputs,
                                rows: count,
                                scratch: scratch.baseAddress!,
                                scratchSize: scratchSize,
                                output: UnsafeMutablePointer(mutating: uo.pointer) + start * outputs,
                                sparse: sparse
                            )
                            b += parts
                        }
                    }
                }
                if parts == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: parts, execute: run) }
            }
        }
        return output
    }

    /// Forward pass on raw storage: ping-pongs between two scratch halves, writes the last layer to
    /// `output`; a layer with `sparse[l]` set goes through the sparse kernel.
    func forward(
        _ x: UnsafePointer<Float>,
        rows: Int,
        scratch: UnsafeMutablePointer<Float>,
        scratchSize: Int,
        output: UnsafeMutablePointer<Float>,
        sparse: [SparseWeights?] = []
    ) {
        self.parameters.withUnsafeBufferPointer { params in
            let p = params.baseAddress!
            var current = x
            for (l, layer) in self.layers.enumerated() {
                let last = l == self.layers.count - 1
                let target = last ? output : scratch + (l % 2) * scratchSize
                if l < sparse.count, let weights = sparse[l] {
                    weights.multiply(current, rows: rows, into: target)
                    Kernels.biasActivation(
                        target,
                        rows: rows,
                        columns: layer.units,
                        bias: p + layer.biasOffset,
                        activation: layer.activation
                    )
                } else {
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
                        c: target,
                        ldc: layer.units
                    )
                }
                current = UnsafePointer(target)
            }
        }
    }
}
