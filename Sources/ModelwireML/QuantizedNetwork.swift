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
        let packed: [Int16]
    }

    private let source: Source
    private let layers: [PackedLayer]
    /// The widest layer input, rounded up to even (the int16 scratch row).
    private let maxInputs: Int
    /// The widest layer output (the float scratch row).
    private let maxUnits: Int
    /// Whether the AVX2 kernels run (tests set false to check the portable ones).
    let useAVX2: Bool

    /// A network from quantized dense parameters.
    public init(parameters: QuantizedDenseParameters, useAVX2: Bool = true) {
        self.init(source: .dense(parameters.loss), layers: parameters.layers, useAVX2: useAVX2)
    }

    /// A network from quantized linear parameters.
    public init(parameters: QuantizedLinearParameters, useAVX2: Bool = true) {
        self.init(source: .linear(parameters.kind), layers: [parameters.layer], useAVX2: useAVX2)
    }

    private init(source: Source, layers: [QuantizedLayer], useAVX2: Bool) {
        self.source = source
        self.useAVX2 = useAVX2
        self.layers = layers.map { layer in
            var packed = [Int16](repeating: 0, count: CModelwireKernels_qpackedCount(layer.inputs, layer.units))
            layer.weights.withUnsafeBufferPointer { w in
                packed.withUnsafeMutableBufferPointer { p in
                    w.withMemoryRebound(to: CChar.self) { bytes in
                        CModelwireKernels_qpack(bytes.baseAddress, layer.inputs, layer.units, p.baseAddress)
                    }
                }
            }
            return PackedLayer(layer: layer, packed: packed)
        }
        self.maxInputs = layers.map { ($0.inputs + 1) & ~1 }.max() ?? 0
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
        let avx2: Int32 = self.useAVX2 ? 1 : 0
        withUnsafeTemporaryAllocation(of: Int16.self, capacity: rows * self.maxInputs) { q in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: rows * (2 * self.maxUnits + 1)) { scratch in
                let scales = scratch.baseAddress!
                var current = x
                for (l, packed) in self.layers.enumerated() {
                    let layer = packed.layer
                    let target =
                        l == self.layers.count - 1 ? output : scales + rows + (l % 2) * rows * self.maxUnits
                    CModelwireKernels_quantizeRows(
                        avx2,
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
                                    avx2,
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
