import Foundation
import ModelwireML
import ModelwireOnnx

/// Imports an ONNX file with ModelwireOnnx and times the ML core's in-process predict on one
/// thread: `OnnxBench FILE ROWS.f32 ROUNDS` prints one JSON object with the best seconds per call
/// at 1 row and at 1024 rows (the first rows of ROWS.f32, raw little-endian float32, row-major).
@main
struct OnnxBench {
    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count == 4, let rounds = Int(arguments[3]) else {
            FileHandle.standardError.write(Data("usage: OnnxBench MODEL.onnx ROWS.f32 ROUNDS\n".utf8))
            exit(2)
        }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: arguments[1])))
        let imported = try OnnxImporter.convert(bytes, limits: .forFile(bytes: bytes.count))
        let model = try TrainedModel(snapshot: imported.snapshot)
        let data = try Data(contentsOf: URL(fileURLWithPath: arguments[2]))
        let all = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let width = model.featureCount
        var result: [String: Double] = [:]
        for rows in [1, 1024] {
            let batch = Array(all.prefix(rows * width))
            precondition(batch.count == rows * width, "ROWS.f32 holds fewer than \(rows) rows")
            // Calls per timing so that one timing lasts ~20 ms or more.
            let calls = rows == 1 ? 20_000 : 100
            var sink: Float = 0
            for _ in 0..<calls / 10 { sink += model.predictProbabilities(batch, threads: 1)!.values[0] }
            var best = Double.infinity
            for _ in 0..<rounds {
                let start = DispatchTime.now().uptimeNanoseconds
                for _ in 0..<calls { sink += model.predictProbabilities(batch, threads: 1)!.values[0] }
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(calls))
            }
            result["rows_\(rows)_seconds"] = best
            if sink.isNaN { print("") }  // keeps the calls from being optimised away
        }
        let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }
}
