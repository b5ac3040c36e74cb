import CModelwireKernels
import Dispatch
import ModelwireData

/// An int8 network as a `Model` (issue 14, Quantize): the layers of `QuantizedDenseParameters` or
/// the one layer of `QuantizedLinearParameters`, predicted by the int8 kernels of
/// CModelwireQuantizedKernels.h. Not trainable: train the float source and quantize again.
///
/// Given a standardisation, `outputs` takes raw rows and standardises them while quantizing the
/// first layer's input, as `(x − mean) · (1 / scale)` (no separate pass over the rows).
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
        /// Whether `qgemm` can hand the next layer its rows' largest |x| (its activation is applied
        /// in the kernel, and the next layer scales per row).
        let passesLargest: Bool
    }

    private let source: Source
    private let layers: [PackedLayer]
    private let mean: [Float]?
    private let inverseScale: [Float]?
    /// The bytes of the widest quantized input row (the int8 scratch row).
    private let maxRowBytes: Int
    /// The widest layer output (the float scratch row).
    private let maxUnits: Int
    /// The int8 kernel in use (CModelwireQuantizedKernels.h): the best this CPU has.
    let kernel: Int32

    /// A network from quantized dense parameters.
    /// - Parameters:
    ///   - standardization: Applied to the rows first, when given.
    ///   - kernel: The fastest int8 kernel to use, at most (tests pass slower ones).
    public init(
        parameters: QuantizedDenseParameters,
        standardization: Standardization? = nil,
        kernel: Int32 = Int32(CModelwireKernels_qVNNI)
    ) {
        self.init(.dense(parameters.loss), parameters.layers, standardization, kernel)
    }

    /// A network from quantized linear parameters.
    /// - Parameters:
    ///   - standardization: Applied to the rows first, when given.
    ///   - kernel: The fastest int8 kernel to use, at most.
    public init(
        parameters: QuantizedLinearParameters,
        standardization: Standardization? = nil,
        kernel: Int32 = Int32(CModelwireKernels_qVNNI)
    ) {
        self.init(.linear(parameters.kind), [parameters.layer], standardization, kernel)
    }

    private init(_ source: Source, _ layers: [QuantizedLayer], _ standardization: Standardization?, _ kernel: Int32) {
        let kernel = CModelwireKernels_qkernel(kernel)
        self.source = source
        self.kernel = kernel
        self.mean = standardization?.mean
        self.inverseScale = standardization?.scale.map { 1 / $0 }
        self.layers = layers.indices.map { l in
            let layer = layers[l]
            var packed = [UInt8](repeating: 0, count: CModelwireKernels_qpackedBytes(kernel, layer.inputs, layer.units))
            layer.weights.withUnsafeBufferPointer { w in
                packed.withUnsafeMutableBytes { p in
                    w.withMemoryRebound(to: CChar.self) { bytes in
                        CModelwireKernels_qpack(kernel, bytes.baseAddress, layer.inputs, layer.units, p.baseAddress)
                    }
                }
            }
            let passes =
                l + 1 < layers.count && layers[l + 1].inputScale == nil
                && (layer.activation == .relu || layer.activation == .linear)
            return PackedLayer(layer: layer, packed: packed, passesLargest: passes)
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

    /// Raw outputs (see `Model.outputs`) for rows standardised by this network's standardisation,
    /// or by none, in blocks of `DenseNetwork.forwardBlockRows` rows split over `threads`.
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

    /// One block: quantize the input (standardising the first), multiply, dequantize (+ bias, ReLU
    /// fused, each row's largest |y| kept for the next layer), other activations after.
    private func forward(_ x: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>) {
        let kernel = self.kernel
        // Int32 elements keep the rows 4-byte aligned.
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: (rows * self.maxRowBytes + 3) / 4) { q in
            // Row scales, each row's largest |x| from the previous layer, two ping-pong blocks.
            withUnsafeTemporaryAllocation(of: Float.self, capacity: rows * (2 * self.maxUnits + 2)) { scratch in
                let (scales, largest) = (scratch.baseAddress!, scratch.baseAddress! + rows)
                var current = x
                for (l, packed) in self.layers.enumerated() {
                    let layer = packed.layer
                    let target =
                        l == self.layers.count - 1 ? output : largest + rows + (l % 2) * rows * self.maxUnits
                    let known = l > 0 && self.layers[l - 1].passesLargest
                    withStandardization(first: l == 0) { mean, inverseScale in
                        CModelwireKernels_quantizeRows(
                            kernel,
                            current,
                            rows,
                            layer.inputs,
                            layer.inputs,
                            mean,
                            inverseScale,
                            known ? UnsafePointer(largest) : nil,
                            layer.inputScale ?? 0,
                            q.baseAddress,
                            scales
                        )
                    }
                    layer.weightScales.withUnsafeBufferPointer { ws in
                        layer.biases.withUnsafeBufferPointer { bs in
                            packed.packed.withUnsafeBytes { w in
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
                                    layer.units,
                                    packed.passesLargest ? largest : nil
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

    /// Calls `body` with the standardisation's mean and 1 / scale for the first layer, else nils.
    private func withStandardization(
        first: Bool,
        _ body: (UnsafePointer<Float>?, UnsafePointer<Float>?) -> Void
    ) {
        guard first, let mean = self.mean, let inverseScale = self.inverseScale else { return body(nil, nil) }
        mean.withUnsafeBufferPointer { m in
            inverseScale.withUnsafeBufferPointer { s in body(m.baseAddress, s.baseAddress) }
        }
    }
}
