import BenchMessages
import Benchmark
import ModelwireCodec

// protobuf-c (ModelwireCodec's Swift values <-> C structs) against swift-protobuf (generated Swift
// messages) on the same Predict messages: encode + decode of a request (rows x 100 features) and
// of a response (class ids, class names, rows x 10 probabilities, timings), 1, 32 and 1024 rows.
// Run: tools/bench/codec (or `swift package benchmark --target CodecComparisonBenchmarks` here).

/// Same values on both sides, from one seeded generator.
struct Messages {
    let request: V1.PredictRequest
    let response: V1.PredictResponse
    let swiftRequest: Modelwire_V1_PredictRequest
    let swiftResponse: Modelwire_V1_PredictResponse

    init(rows: Int) {
        var state: UInt64 = 0x1234_5678
        func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24) * 6 - 3
        }
        let features = (0..<rows * 100).map { _ in next() }
        let scores = (0..<rows * 10).map { _ in abs(next()) / 3 }
        let classIDs = (0..<rows).map { UInt32($0 % 10) }
        let classNames = (0..<10).map { "class\($0)" }
        self.request = V1.PredictRequest(
            model: V1.ModelRef(name: "reference", selector: .version(1)),
            inputs: V1.Tensor(columns: 100, values: features),
            includeProbabilities: true
        )
        self.response = V1.PredictResponse(
            model: "reference",
            version: 1,
            classNames: classNames,
            classIds: classIDs,
            scores: V1.Tensor(columns: 10, values: scores),
            scoresAreProbabilities: true,
            timings: V1.CallTimings(
                queueUs: 3,
                decodeUs: 2,
                computeUs: 40,
                encodeUs: 2,
                batchRows: UInt32(rows)
            )
        )
        self.swiftRequest = .with {
            $0.model = .with {
                $0.name = "reference"
                $0.version = 1
            }
            $0.inputs = .with {
                $0.columns = 100
                $0.values = features
            }
            $0.includeProbabilities = true
        }
        self.swiftResponse = .with {
            $0.model = "reference"
            $0.version = 1
            $0.classNames = classNames
            $0.classIds = classIDs
            $0.scores = .with {
                $0.columns = 10
                $0.values = scores
            }
            $0.scoresAreProbabilities = true
            $0.timings = .with {
                $0.queueUs = 3
                $0.decodeUs = 2
                $0.computeUs = 40
                $0.encodeUs = 2
                $0.batchRows = UInt32(rows)
            }
        }
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .instructions, .throughput],
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000
    )

    for rows in [1, 32, 1024] {
        let m = Messages(rows: rows)
        // Both encoders must write the same bytes, or the comparison is not like for like.
        precondition(
            try! m.request.serializedBytes() == (try! m.swiftRequest.serializedBytes() as [UInt8]),
            "request bytes differ"
        )
        precondition(
            try! m.response.serializedBytes() == (try! m.swiftResponse.serializedBytes() as [UInt8]),
            "response bytes differ"
        )
        let scaling: BenchmarkScalingFactor = rows == 1024 ? .one : .kilo

        Benchmark("request.encode+decode.\(rows).protobuf-c", configuration: .init(scalingFactor: scaling)) {
            benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try V1.PredictRequest(serializedBytes: try m.request.serializedBytes()))
            }
        }
        Benchmark("request.encode+decode.\(rows).swift-protobuf", configuration: .init(scalingFactor: scaling)) {
            benchmark in
            for _ in benchmark.scaledIterations {
                let bytes: [UInt8] = try m.swiftRequest.serializedBytes()
                blackHole(try Modelwire_V1_PredictRequest(serializedBytes: bytes))
            }
        }
        Benchmark("response.encode+decode.\(rows).protobuf-c", configuration: .init(scalingFactor: scaling)) {
            benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try V1.PredictResponse(serializedBytes: try m.response.serializedBytes()))
            }
        }
        Benchmark("response.encode+decode.\(rows).swift-protobuf", configuration: .init(scalingFactor: scaling)) {
            benchmark in
            for _ in benchmark.scaledIterations {
                let bytes: [UInt8] = try m.swiftResponse.serializedBytes()
                blackHole(try Modelwire_V1_PredictResponse(serializedBytes: bytes))
            }
        }
    }
}
