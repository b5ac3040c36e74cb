public import ModelwireML

/// A model converted from ONNX, with what its graph called things.
public struct OnnxImportedModel: Sendable, Equatable {
    /// The converted model (class labels from the graph; features named `f0`, `f1`, … as a model trained without names).
    public var snapshot: ModelSnapshot
    /// The graph input the rows are fed to.
    public var inputName: String
    /// The graph outputs, in graph order.
    public var outputNames: [String]
    /// `producer_name` and `producer_version` of the file.
    public var producerName: String
    public var producerVersion: String
    /// The operators converted, in graph order (the dropped label tail and ZipMap excluded).
    public var operators: [String]
}

/// Converts an ONNX model (a serialized `onnx.ModelProto`) into a Modelwire snapshot.
///
/// Supported: dense networks (`Gemm`, `MatMul` + `Add`, `Relu`, `Tanh`, `Sigmoid`, `Softmax`),
/// `LinearClassifier` / `LinearRegressor`, `TreeEnsembleClassifier` / `TreeEnsembleRegressor`
/// (one tree, a forest, or summed regression trees), input standardisation (`Scaler`, or `Sub`
/// then `Div` by constants) and the no-ops `Identity`, `Cast` to float, `Flatten`, `Reshape` to
/// the same rows. scikit-learn's label tail (`ArgMax`, `ArrayFeatureExtractor`, `Reshape`,
/// `Cast`, `Identity` on labels), `ZipMap`, an L1 `Normalizer` on probabilities and the binary
/// `Sub(1, p)` + `Concat` are recognised and dropped. Anything else is refused with the first
/// unsupported node.
public enum OnnxImporter {
    /// Operator set versions accepted per domain ("" is ai.onnx).
    public static let supportedOpsets: [String: ClosedRange<Int64>] = ["": 7...24, "ai.onnx.ml": 1...5]

    /// Converts `bytes`.
    /// - Throws: `OnnxError` naming the first unsupported or inconsistent node.
    public static func convert(_ bytes: [UInt8], limits: OnnxLimits) throws(OnnxError) -> OnnxImportedModel {
        let model = try OnnxReader.read(bytes, limits: limits)
        guard model.irVersion >= 3 else {
            throw OnnxError("IR version \(model.irVersion) is not supported (3 or later: models with opset imports)")
        }
        let graph = model.graph
        let order = try topologicalOrder(graph)
        try checkOpsets(model, order.map { graph.nodes[$0] })
        guard graph.inputs.count == 1, let input = graph.inputs.first else {
            throw OnnxError("the graph has \(graph.inputs.count) inputs; one feature matrix is supported")
        }
        guard input.elementType == 0 || input.elementType == 1 else {
            throw OnnxError(
                "graph input \"\(input.name)\" has element type \(input.elementType); float (1) is supported"
            )
        }
        if let shape = input.shape, shape.count != 2 {
            throw OnnxError("graph input \"\(input.name)\" has shape \(shape); a matrix [rows, features] is supported")
        }
        var conversion = OnnxConversion(graph: graph, input: input)
        for index in order { try conversion.apply(graph.nodes[index]) }
        if conversion.classLabels == nil, let names = model.metadata[OnnxExporter.classNamesKey] {
            // A Modelwire export: its label output is the class id, the names are in the metadata.
            conversion.classLabels = names.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        }
        let snapshot = try conversion.snapshot()
        do { _ = try TrainedModel(snapshot: snapshot) } catch {
            throw OnnxError("the converted model is inconsistent: \(error.message)")
        }
        return OnnxImportedModel(
            snapshot: snapshot,
            inputName: input.name,
            outputNames: graph.outputs.map(\.name),
            producerName: model.producerName,
            producerVersion: model.producerVersion,
            operators: conversion.operators
        )
    }

    private static func checkOpsets(_ model: OnnxModel, _ nodes: [OnnxNode]) throws(OnnxError) {
        for node in nodes {
            let domain = node.domain == "ai.onnx" ? "" : node.domain
            guard let supported = supportedOpsets[domain] else {
                throw OnnxError.node(node, "operator domain \"\(node.domain)\" is not supported")
            }
            guard let version = model.opsets[domain] ?? (domain == "" ? model.opsets["ai.onnx"] : nil) else {
                throw OnnxError.node(
                    node,
                    "the model imports no opset for domain \"\(domain.isEmpty ? "ai.onnx" : domain)\""
                )
            }
            guard supported.contains(version) else {
                throw OnnxError.node(
                    node,
                    "opset \(domain.isEmpty ? "ai.onnx" : domain) version \(version) is not supported "
                        + "(\(supported.lowerBound)...\(supported.upperBound))"
                )
            }
        }
    }

    /// The nodes in an order where each comes after the producers of its inputs (Kahn).
    /// - Throws: when a node waits on itself through a cycle, or two nodes write one tensor.
    static func topologicalOrder(_ graph: OnnxGraph) throws(OnnxError) -> [Int] {
        var producer: [String: Int] = [:]
        for (i, node) in graph.nodes.enumerated() {
            for output in node.outputs where !output.isEmpty {
                if let other = producer[output] {
                    throw OnnxError.node(
                        node,
                        "writes tensor \"\(output)\", which node \(graph.nodes[other].label) also writes"
                    )
                }
                producer[output] = i
            }
        }
        var waiting = [Int](repeating: 0, count: graph.nodes.count)
        var consumers = [[Int]](repeating: [], count: graph.nodes.count)
        for (i, node) in graph.nodes.enumerated() {
            for input in Set(node.inputs) where !input.isEmpty {
                if let p = producer[input] {
                    waiting[i] += 1
                    consumers[p].append(i)
                }
            }
        }
        var ready = (0..<graph.nodes.count).filter { waiting[$0] == 0 }
        var order: [Int] = []
        while !ready.isEmpty {
            let i = ready.removeFirst()
            order.append(i)
            for c in consumers[i] {
                waiting[c] -= 1
                if waiting[c] == 0 { ready.append(c) }
            }
        }
        if let stuck = waiting.indices.first(where: { waiting[$0] > 0 }) {
            throw OnnxError.node(graph.nodes[stuck], "is part of a cycle in the graph")
        }
        return order
    }
}
