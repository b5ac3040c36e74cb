import Foundation
import ModelwireData

/// Release-built benchmark of stored preprocessing (issue 15 item 1), in process, one thread: reads
/// a CSV as a typed table, fits the default preprocessing (mean / most-frequent imputation, one-hot)
/// on it, then encodes all its rows, repeating for at least a second. Prints one JSON
/// object: {"rows", "raw_columns", "features", "fit_ms", "encode_ms", "rows_per_s", "feature_names", "feature_sums"}
/// (the column sums of one encoding, for preprocess_bench.py to compare with scikit-learn's).
/// usage: PreprocessBench <table.csv> <label column>
@main
struct PreprocessBench {
    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 3 else {
            FileHandle.standardError.write(Data("usage: PreprocessBench <table.csv> <label column>\n".utf8))
            exit(2)
        }
        let full = try DataTable(contentsOfCSV: arguments[1], textColumns: [arguments[2]])
        let (features, _) = try full.labelled(by: arguments[2], task: .classification)
        let clock = ContinuousClock()
        var preprocessor: Preprocessor?
        let fit = try clock.measure { preprocessor = try Preprocessor.fit(features, options: Preprocessor.Options()) }
        guard let preprocessor else { return }
        let encoded = try preprocessor.encode(features)
        let width = preprocessor.featureNames.count
        var sums = [Double](repeating: 0, count: width)
        for (i, v) in encoded.enumerated() { sums[i % width] += Double(v) }
        var calls = 0
        let start = clock.now
        repeat {
            _ = try preprocessor.encode(features)
            calls += 1
        } while clock.now - start < .seconds(1) || calls < 3
        let seconds = Self.seconds(clock.now - start)
        print(
            "{\"rows\":\(features.rows),\"raw_columns\":\(features.columns.count),\"features\":\(width),"
                + "\"fit_ms\":\(String(format: "%.3f", Self.seconds(fit) * 1000)),"
                + "\"encode_ms\":\(String(format: "%.3f", seconds * 1000 / Double(calls))),"
                + "\"rows_per_s\":\(Int(Double(calls * features.rows) / seconds)),"
                + "\"feature_names\":[\(preprocessor.featureNames.map { "\"\($0)\"" }.joined(separator: ","))],"
                + "\"feature_sums\":[\(sums.map { String(format: "%.6g", $0) }.joined(separator: ","))]}"
        )
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
