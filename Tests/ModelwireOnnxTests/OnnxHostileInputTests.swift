import Testing

@testable import ModelwireOnnx

/// Files that must be refused with a sentence, before protobuf-c or the converter allocates from them.
@Suite struct OnnxHostileInputTests {
    /// `depth` messages each holding the next as field 1.
    static func nested(_ depth: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        for _ in 0..<depth {
            var w = ProtobufWriter()
            w.data(1, bytes)
            bytes = w.bytes
        }
        return bytes
    }

    @Test func nestingIsMeasuredOnTheWire() {
        for (depth, verdict) in [(10, WireNesting.Verdict.message), (64, .message), (65, .tooDeep), (5000, .tooDeep)] {
            let bytes = Self.nested(depth)
            #expect(bytes.withUnsafeBytes { WireNesting.check($0, limit: 64) } == verdict, "depth \(depth)")
        }
        #expect([UInt8]([0x0A, 0x05, 0x01]).withUnsafeBytes { WireNesting.check($0, limit: 64) } == .notMessage)
    }

    /// A model whose graph has one MatMul reading `W` with the given dims and float bytes.
    static func model(dims: [Int64], floats: Int, opset: Int64 = 13) -> [UInt8] {
        var tensor = ProtobufWriter()
        tensor.packedInts(1, dims)
        tensor.int(2, 1)
        tensor.string(8, "W")
        if floats > 0 { tensor.data(9, [UInt8](repeating: 0, count: 4 * floats)) }
        var node = ProtobufWriter()
        node.string(1, "X")
        node.string(1, "W")
        node.string(2, "Y")
        node.string(3, "mm")
        node.string(4, "MatMul")
        var graph = ProtobufWriter()
        graph.data(1, node.bytes)
        graph.data(5, tensor.bytes)
        graph.message(11) { $0.string(1, "X") }
        graph.message(12) { $0.string(1, "Y") }
        var m = ProtobufWriter()
        m.int(1, 8)
        m.message(8) { $0.int(2, opset) }
        m.data(7, graph.bytes)
        return m.bytes
    }

    func refusal(_ bytes: [UInt8]) -> String? {
        do {
            _ = try OnnxImporter.convert(bytes, limits: .forFile(bytes: bytes.count))
            return nil
        } catch { return error.message }
    }

    @Test func aHugeClaimInATinyFileIsRefusedBeforeAllocating() throws {
        let bytes = Self.model(dims: [10_000, 10_000], floats: 0)
        #expect(bytes.count < 100)
        let message = try #require(refusal(bytes))
        #expect(message.contains(#"initializer "W" (used by node "mm" (MatMul)): dims [10000, 10000] claim more than"#))
    }

    @Test func dimsThatDisagreeWithTheDataAreRefused() throws {
        let message = try #require(refusal(Self.model(dims: [4, 3], floats: 5)))
        #expect(message.contains("claim 12 elements but the tensor holds 5"))
    }

    @Test func aConsistentMatMulConverts() throws {
        #expect(refusal(Self.model(dims: [4, 1], floats: 4)) == nil)  // a linear regression
    }

    @Test func anUnsupportedOpsetNamesTheNode() throws {
        let message = try #require(refusal(Self.model(dims: [4, 3], floats: 12, opset: 99)))
        #expect(message == #"node "mm" (MatMul): opset ai.onnx version 99 is not supported (7...24)"#)
    }

    @Test func truncatedFilesAreRefused() throws {
        let bytes = Self.model(dims: [4, 3], floats: 12)
        for cut in [1, 5, bytes.count / 2, bytes.count - 1] {
            #expect(refusal(Array(bytes.prefix(cut))) != nil, "cut at \(cut)")
        }
    }

    @Test func aCycleIsNamed() throws {
        func node(_ name: String, _ op: String, _ inputs: [String], _ output: String) -> OnnxNode {
            OnnxNode(
                name: name,
                opType: op,
                domain: "",
                inputs: inputs,
                outputs: [output],
                attributes: [:],
                label: "\"\(name)\" (\(op))"
            )
        }
        let graph = OnnxGraph(
            nodes: [node("a", "Add", ["X", "T2"], "T1"), node("r", "Relu", ["T1"], "T2")],
            initializers: [:],
            inputs: [],
            outputs: []
        )
        #expect(throws: OnnxError(#"node "a" (Add): is part of a cycle in the graph"#)) {
            try OnnxImporter.topologicalOrder(graph)
        }
    }
}
