import Foundation
import ModelwireData
import ModelwireML

/// Release-built ML benchmark: prints one JSON object (read by tools/bench-ml/run.sh).
/// usage: MLBench <data dir with synthetic.csv, synthetic_split.json, digits.csv, digits_split.json> [--quick]
@main
struct MLBench {
    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 2 else {
            FileHandle.standardError.write(Data("usage: MLBench <data dir> [--quick]\n".utf8))
            exit(2)
        }
        let dir = arguments[1]
        let quick = arguments.contains("--quick")
        var result: [String: Any] = [:]

        // Matrix multiply, one thread (and two for information).
        for n in [256, 1024] {
            for threads in [1, 2] {
                var g = SeededGenerator(seed: 1)
                let a = Matrix(rows: n, columns: n, values: (0..<n * n).map { _ in g.nextUnitFloat() - 0.5 })
                let b = Matrix(rows: n, columns: n, values: (0..<n * n).map { _ in g.nextUnitFloat() - 0.5 })
                var c = Matrix(rows: n, columns: n)
                let reps = n == 256 ? 200 : (quick ? 5 : 20)
                for _ in 0..<2 { c.multiplyAdd(a, b, beta: 0, threads: threads) }
                let times = (0..<reps).map { _ in time { c.multiplyAdd(a, b, beta: 0, threads: threads) } }
                let flop = 2 * pow(Double(n), 3)
                result["matmul_\(n)_t\(threads)"] = [
                    "best_gflops": flop / times.min()! / 1e9,
                    "median_gflops": flop / median(times) / 1e9,
                ]
                log("matmul \(n)³ t\(threads): best \(fmt(flop / times.min()! / 1e9)) GFLOP/s")
            }
        }

        // Training + predict on synthetic (reference net) and digits (64-64-64-10).
        for name in ["synthetic", "digits"] {
            let loadStart = Date()
            let data = try Dataset(contentsOfCSV: "\(dir)/\(name).csv")
            let split = try DatasetSplit(contentsOfJSON: "\(dir)/\(name)_split.json", rows: data.rows)
            let train = data.subset(split.train)
            let test = data.subset(split.test)
            log("\(name): loaded \(data.rows) rows in \(fmt(Date().timeIntervalSince(loadStart))) s")
            let epochs = quick && name == "synthetic" ? 2 : 10
            let fitTimes = (0..<(name == "digits" ? 3 : 1)).map { _ in 0.0 }
            var model: TrainedModel?
            var fitSeconds = [Double]()
            for _ in fitTimes {
                let start = Date()
                model = try Trainer.train(
                    spec: .referenceNetwork,
                    options: .defaults { $0.epochs = epochs },
                    dataset: train
                )
                fitSeconds.append(Date().timeIntervalSince(start))
            }
            let trained = model!
            guard case .classification(let metrics) = try trained.evaluate(test) else { fatalError("not a classifier") }
            let fit = median(fitSeconds)
            var entry: [String: Any] = [
                "fit_s": fit, "epochs": epochs, "train_rows": train.rows,
                "samples_per_s": Double(train.rows * epochs) / fit,
                "accuracy": metrics.accuracy, "f1_macro": metrics.macro.f1,
            ]
            log(
                "\(name): fit \(fmt(fit)) s, \(fmt(Double(train.rows * epochs) / fit)) samples/s, accuracy \(fmt(metrics.accuracy))"
            )

            // One row, public path (standardisation + forward + softmax), median of many calls.
            let row = Array(test.features.prefix(test.columns))
            var sink: Float = 0
            for _ in 0..<1000 { sink += trained.predictProbabilities(row)!.values[0] }
            let latencies = (0..<5000).map { _ in time { sink += trained.predictProbabilities(row)!.values[0] } }
            entry["latency_1_row_us"] = median(latencies) * 1e6
            entry["latency_1_row_p90_us"] = latencies.sorted()[latencies.count * 9 / 10] * 1e6

            // 1024 rows per call.
            let rows1024 = (0..<1024).flatMap { test.featureRow($0 % test.rows) }
            for _ in 0..<20 { sink += trained.predictProbabilities(rows1024)!.values[0] }
            let batchTimes = (0..<200).map { _ in time { sink += trained.predictProbabilities(rows1024)!.values[0] } }
            entry["batch_1024_rows_per_s"] = 1024 / median(batchTimes)
            let batchTimes2 = (0..<200).map { _ in
                time { sink += trained.predictProbabilities(rows1024, threads: 2)!.values[0] }
            }
            entry["batch_1024_rows_per_s_t2"] = 1024 / median(batchTimes2)
            log(
                "\(name): 1 row \(fmt(median(latencies) * 1e6)) µs, 1024 rows \(fmt(1024 / median(batchTimes))) rows/s (sink \(sink.isFinite))"
            )
            result[name] = entry
        }
        result["avx2_fma"] = ProcessInfo.processInfo.environment["MODELWIRE_NO_AVX2"] == nil
        let json = try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys])
        FileHandle.standardOutput.write(json)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }

    static func time(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }

    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    static func fmt(_ x: Double) -> String { String(format: "%.3g", x) }

    static func log(_ message: String) {
        FileHandle.standardError.write(Data("[MLBench] \(message)\n".utf8))
    }
}
