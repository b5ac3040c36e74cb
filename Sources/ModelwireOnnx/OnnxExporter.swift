public import ModelwireML

/// Writes a Modelwire model as an ONNX graph (IR 8; opsets ai.onnx 13, ai.onnx.ml 3) that
/// computes what `TrainedModel.predict` does: the standardisation (`Sub`, `Div`), the model, and
/// for classification `probabilities` (or SVM `scores`) [rows, classes] plus `label` [rows], the
/// class id (int64); for regression `variable` [rows, 1].
public enum OnnxExporter {
    /// The `metadata_props` key of the class names, one per line in class id order.
    public static let classNamesKey = "modelwire.class_names"

    /// Why `snapshot` cannot be exported (a phrase after the model's name), or nil when it can.
    public static func unsupported(_ snapshot: ModelSnapshot) -> String? {
        switch snapshot.parameters {
        case .quantizedDense, .quantizedLinear:
            "is int8-quantized: ONNX export writes float graphs; export the version it was quantized from"
        default: nil
        }
    }

    /// The serialized `onnx.ModelProto` of `snapshot`.
    /// - Precondition: `unsupported(snapshot)` is nil.
    /// - Parameters:
    ///   - inputName: The graph input's name (e.g. the one an ONNX import recorded).
    ///   - modelName: The graph's name.
    ///   - producerVersion: Written as `producer_version` (`producer_name` is "modelwire").
    public static func export(
        _ snapshot: ModelSnapshot,
        inputName: String = "input",
        modelName: String,
        producerVersion: String
    ) -> [UInt8] {
        var graph = OnnxGraphBuilder(features: snapshot.featureNames.count, inputName: inputName)
        var x = inputName
        if let st = snapshot.standardization {
            x = graph.node("Sub", [x, graph.floats("mean", st.mean, dims: [st.mean.count])])
            x = graph.node("Div", [x, graph.floats("scale", st.scale, dims: [st.scale.count])])
        }
        let classes = snapshot.classNames.count
        switch snapshot.parameters {
        case .dense(let p):
            for (l, layer) in p.layers.enumerated() {
                let w = graph.floats("W\(l)", layer.weights, dims: [layer.inputs, layer.units])
                let b = graph.floats("B\(l)", layer.biases, dims: [layer.units])
                x = graph.node("Add", [graph.node("MatMul", [x, w]), b])
                switch layer.activation {
                case .linear: break
                case .relu: x = graph.node("Relu", [x])
                case .tanh: x = graph.node("Tanh", [x])
                case .sigmoid: x = graph.node("Sigmoid", [x])
                case .softmax: x = graph.node("Softmax", [x], ["axis": .int(1)])
                }
            }
            let units = p.layers.last?.units ?? 1
            if snapshot.task == .classification {
                if units == 1 { x = graph.binaryProbabilities(x) }
                graph.classification(probabilities: x, classes: classes, name: "probabilities")
            } else {
                graph.output(x, name: "variable", columns: units)
            }
        case .linear(let p):
            let w = graph.floats("W", p.weights, dims: [p.inputs, p.outputs])
            let b = graph.floats("B", p.biases, dims: [p.outputs])
            x = graph.node("Add", [graph.node("MatMul", [x, w]), b])
            if p.kind == .logistic {
                graph.classification(
                    probabilities: graph.node("Softmax", [x], ["axis": .int(1)]),
                    classes: classes,
                    name: "probabilities"
                )
            } else if p.outputs == 1 {
                graph.binaryScores(x)
            } else {
                graph.classification(probabilities: x, classes: classes, name: "scores")
            }
        case .tree(let p):
            graph.trees([p], x, task: snapshot.task, classNames: snapshot.classNames, scale: 1)
        case .forest(let p):
            graph.trees(
                p.trees,
                x,
                task: snapshot.task,
                classNames: snapshot.classNames,
                scale: 1 / Float(max(p.trees.count, 1))
            )
        case .gbdt(let p):
            graph.boosted(p, x, classes: classes)
        case .quantizedDense, .quantizedLinear:
            preconditionFailure("OnnxExporter.unsupported refuses int8 models")
        }
        var model = ProtobufWriter()
        model.int(1, 8)  // ir_version
        model.message(8) {
            $0.string(1, "")
            $0.int(2, 13)
        }
        model.message(8) {
            $0.string(1, "ai.onnx.ml")
            $0.int(2, 3)
        }
        model.string(2, "modelwire")
        model.string(3, producerVersion)
        model.message(7) { graph.write(into: &$0, name: modelName) }
        if !snapshot.classNames.isEmpty {
            // The label output is a class id; the names, in id order, travel as metadata.
            model.message(14) {
                $0.string(1, classNamesKey)
                $0.string(2, snapshot.classNames.joined(separator: "\n"))
            }
        }
        return model.bytes
    }
}
