import CModelwireKernels
import Dispatch
import ModelwireData

/// An int8 network as a `Model` (issue 14, Quantize): the layers of `QuantizedDenseParameters` or
/// the one layer of `QuantizedLinearParameters`, predicted by the int8 kernels of
/// CModelwireQuantizedKernels.h. Not trainable: train the float source and quantize again.
public struct QuantizedNetwork: Model {
    /// What the network was made from.
    public enum Source: Sendable, Equatable {
        /// A dense net (its loss decides what the outputs mean).
        case dense(Loss)
        /// A linear model.
        case linear(LinearParameters.Kind)
    }

    /// A layer with its weights packed for the kernel once, at load.
    private struct PackedLayer: Sendable {
        let layer: QuantizedLayer
        let packed: [UInt8]
    }

    private let source: Source
    private let layers: [PackedLayer]
    /// The bytes of the widest quantized input row (the int8 scratch row).
    private let maxRowBytes: Int
    /// The widest layer output (the float scratch row).
    private let maxUnits: Int
    /// The int8 kernel in use (CModelwireQuantizedKernels.h): the best this CPU has.
    let kernel: Int32

    /// A network from quantized dense parameters.
    /// - Parameter kernel: The fastest int8 kernel to use, at most (tests pass slower ones).
    public init(parameters: QuantizedDenseParameters, kernel: Int32 = Int32(CModelwireKernels_qVNNI)) {
        self.init(source: .dense(parameters.loss), layers: parameters.layers, kernel: kernel)
    }

    /// A network from quantized linear parameters.
    /// - Parameter kernel: The fastest int8 kernel to use, at most.
    public init(parameters: QuantizedLinearParameters, kernel: Int32 = Int32(CModelwireKernels_qVNNI)) {
        self.init(source: .linear(parameters.kind), layers: [parameters.layer], kernel: kernel)
    }

    private init(source: Source, layers: [QuantizedLayer], kernel: Int32) {
        let kernel = CModelwireKernels_qkernel(kernel)
        self.source = source
        self.kernel = kernel
        self.layers = layers.map { layer in
            var packed = [UInt8](repeating: 0, count: CModelwireKernels_qpackedBytes(kernel, layer.inputs, layer.units))
            layer.weights.withUnsafeBufferPointer { w in
                packed.withUnsafeMutableBytes { p in
                    w.withMemoryRebound(to: CChar.self) { bytes in
                        CModelwireKernels_qpack(kernel, bytes.baseAddress, layer.inputs, layer.units, p.baseAddress)
                    }
                }
            }
            return PackedLayer(layer: layer, packed: packed)
        }
        self.maxRowBytes = layers.map { CModelwireKernels_qrowBytes(kernel, $0.inputs) }.max() ?? 0
        self.maxUnits = layers.map(\.units).max() ?? 0
    }

    /// Refuses: a quantized network is not trained (see the type's documentation).
    public mutating func fit(
        _ training: Dataset,
        validation: Dataset?,
        options: TrainingOptions,
        callbacks: TrainingCallbacks
    ) throws(TrainingError) -> TrainingSummary {
        throw TrainingError(
            .invalidArgument,
            "a quantized model cannot be trained: train its float source and quantize again"
        )
    }

    /// Whether `outputs` are class probabilities.
    public var producesProbabilities: Bool {
        switch self.source {
        case .dense(let loss): loss != .meanSquaredError
        case .linear(let kind): kind == .logistic
        }
    }

    /// The parameters, as stored in a snapshot.
    public var parameters: ModelSnapshot.Parameters {
        switch self.source {
        case .dense(let loss): .quantizedDense(QuantizedDenseParameters(layers: self.layers.map(\.layer), loss: loss))
        case .linear(let kind): .quantizedLinear(QuantizedLinearParameters(kind: kind, layer: self.layers[0].layer))
        }
    }

    /// Raw outputs for standardised rows (see `Model.outputs`), in blocks of
    /// `DenseNetwork.forwardBlockRows` rows split over `threads`.
    public func outputs(_ rows: Matrix, threads: Int) -> Matrix {
        let first = self.layers[0].layer.inputs
        precondition(rows.columns == first, "input width differs from the network's")
        let units = self.layers[self.layers.count - 1].layer.units
        var output = Matrix(rows: rows.rows, columns: units)
        guard rows.rows > 0 else { return output }
        let block = DenseNetwork.forwardBlockRows
        let blocks = (rows.rows + block - 1) / block
        let parts = max(1, min(threads, blocks))
        let count = rows.rows
        rows.values.withUnsafeBufferPointer { x in
            output.values.withUnsafeMutableBufferPointer { out in
                let (ux, uo) = (UncheckedPointer(x.baseAddress!), UncheckedPointer(UnsafePointer(out.baseAddress!)))
                // Each part writes its own rows of `out`; concurrentPerform returns when all are done.
                let run: @Sendable (Int) -> Void = { part in
                    var b = part
                    while b < blocks {
                        let start = b * block
                        self.forward(
                            ux.pointer + start * first,
                            rows: min(block, count - start),
                            output: UnsafeMutablePointer(mutating: uo.pointer) + start * units
                        )
                        b += parts
                    }
                }
                if parts == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: parts, execute: run) }
            }
        }
        return output
    }

    /// One block: quantize the input, multiply, dequantize (+ bias, ReLU fused), other activations.
    private func forward(_ x: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>) {
        let kernel = self.kernel
        // Int32 elements keep the rows 4-byte aligned.
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: (rows * self.maxRowBytes + 3) / 4) { q in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: rows * (2 * self.maxUnits + 1)) { scratch in
                let scales = scratch.baseAddress!
                var current = x
                for (l, packed) in self.layers.enumerated() {
                    let layer = packed.layer
                    let target =
                        l == self.layers.count - 1 ? output : scales + rows + (l % 2) * rows * self.maxUnits
                    CModelwireKernels_quantizeRows(
                        kernel,
                        current,
                        rows,
                        layer.inputs,
                        layer.inputs,
                        layer.inputScale ?? 0,
                        q.baseAddress,
                        scales
                    )
                    layer.weightScales.withUnsafeBufferPointer { ws in
                        layer.biases.withUnsafeBufferPointer { bs in
                            packed.packed.withUnsafeBufferPointer { w in
                                CModelwireKernels_qgemm(
                                    kernel,
                                    rows,
                                    layer.units,
                                    layer.inputs,
                                    q.baseAddress,
                                    scales,
                                    w.baseAddress,
                                    ws.baseAddress,
                                    bs.baseAddress,
                                    layer.activation == .relu ? 1 : 0,
                                    target,
                                    layer.units
                                )
                            }
                        }
                    }
                    if layer.activation != .relu, layer.activation != .linear {
                        Kernels.biasActivation(
                            target,
                            rows: rows,
                            columns: layer.units,
                            bias: nil,
                            activation: layer.activation
                        )
                    }
                    current = UnsafePointer(target)
                }
            }
        }
    }
}
