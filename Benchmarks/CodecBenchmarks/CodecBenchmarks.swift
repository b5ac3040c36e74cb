import Benchmark
import Foundation
import ModelwireCodec
import ModelwireProtocol
import NIOCore

/// A PredictRequest of `rows` x 100 features, as a client sends it.
func predictRequest(rows: Int) -> V1.PredictRequest {
    var generator = SystemRandomNumberGenerator()
    return V1.PredictRequest(
        model: V1.ModelRef(name: "synthetic", selector: .version(1)),
        inputs: V1.Tensor(
            columns: 100,
            values: (0..<rows * 100).map { _ in Float.random(in: -3...3, using: &generator) }
        )
    )
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
        let request = predictRequest(rows: rows)
        let bytes = try! request.serializedBytes()
        let scaling: BenchmarkScalingFactor = rows == 1024 ? .one : .kilo

        Benchmark("encode.predict.\(rows)x100", configuration: .init(scalingFactor: scaling)) { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try request.serializedBytes()) }
        }
        Benchmark("decode.predict.\(rows)x100", configuration: .init(scalingFactor: scaling)) { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try V1.PredictRequest(serializedBytes: bytes)) }
        }
        Benchmark("encode+decode.predict.\(rows)x100", configuration: .init(scalingFactor: scaling)) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try V1.PredictRequest(serializedBytes: try request.serializedBytes()))
            }
        }
        // The floor for encode+decode: copying the same bytes twice (out of and back into an array).
        Benchmark("memcpy.twice.\(rows)x100", configuration: .init(scalingFactor: scaling)) { benchmark in
            for _ in benchmark.scaledIterations {
                let out = [UInt8](unsafeUninitializedCapacity: bytes.count) { b, n in
                    bytes.withUnsafeBytes {
                        b.baseAddress!.update(
                            from: $0.baseAddress!.assumingMemoryBound(to: UInt8.self),
                            count: $0.count
                        )
                    }
                    n = bytes.count
                }
                blackHole(Array(out))
            }
        }
        // Encode into a frame, compressed above the threshold (zlib level 1), as a server writes it.
        Benchmark("frame+compress.predict.\(rows)x100", configuration: .init(scalingFactor: scaling)) { benchmark in
            let codec = FramePayloadCodec(limits: .defaults, peerAcceptsZlib: true)
            var buffer = ByteBufferAllocator().buffer(capacity: bytes.count + 64)
            for _ in benchmark.scaledIterations {
                buffer.clear()
                try codec.writeFrame(
                    request,
                    kind: .request,
                    flags: .endStream,
                    method: 0x0101,
                    callID: 1,
                    into: &buffer
                )
                blackHole(buffer.readableBytes)
            }
        }
    }
}
