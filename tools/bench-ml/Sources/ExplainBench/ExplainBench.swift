import Foundation
import ModelwireData
import ModelwireML

/// Release-built benchmark of Explain's integrated gradients (issue 15), in process, one thread:
/// trains the 64-64 relu net on the bundled digits (5 epochs, seed 7), then explains 1 row and
/// 1024 rows (the digits rows, cycled) at 64 steps, repeating each for at least a second, and
/// prints one JSON object per batch size: {"rows", "steps", "features", "rows_per_s",
/// "attributions_per_s", "ms_per_call", "max_completeness_ratio", "rows_past_steps"} (attributions =
/// rows × features; the ratio is each row's completeness error over 0.01·max(|f(x) − f(baseline)|, 1e-3),
/// ≤ 1 passes; the last field counts the rows of one call that took more steps than asked).
/// usage: ExplainBench <digits.csv> [--steps N]
@main
struct ExplainBench {
    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 2 else {
            FileHandle.standardError.write(Data("usage: ExplainBench <digits.csv> [--steps N]\n".utf8))
            exit(2)
        }
        let steps = arguments.firstIndex(of: "--steps").flatMap { Int(arguments[$0 + 1]) } ?? 64
        let data = try Dataset(contentsOfCSV: arguments[1])
        let spec = DenseNetSpec(hiddenLayers: [
            .init(units: 64, activation: .relu), .init(units: 64, activation: .relu),
        ])
        let model = try Trainer.train(spec: .dense(spec), options: TrainingOptions(epochs: 5, seed: 7), dataset: data)
        for rows in [1, 1024] {
            var x = [Float]()
            for r in 0..<rows {
                x += data.features[(r % data.rows) * data.columns..<(r % data.rows + 1) * data.columns]
            }
            var calls = 0
            var worst = 0.0
            var doubled = 0
            let start = DispatchTime.now().uptimeNanoseconds
            var elapsed = 0.0
            repeat {
                let explanation = try model.explain(x, steps: steps)
                doubled = explanation.rows.count { ($0.steps ?? 0) > steps }
                for row in explanation.rows {
                    let bound = 0.01 * max(Double(abs(row.value - row.baselineValue)), 1e-3)
                    worst = max(worst, Double(row.completenessError) / bound)
                }
                calls += 1
                elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            } while elapsed < 1 || calls < 3
            let perSecond = Double(calls * rows) / elapsed
            print(
                "{\"rows\":\(rows),\"steps\":\(steps),\"features\":\(data.columns),"
                    + "\"rows_per_s\":\(Int(perSecond)),\"attributions_per_s\":\(Int(perSecond * Double(data.columns))),"
                    + "\"ms_per_call\":\(String(format: "%.3f", elapsed * 1000 / Double(calls))),"
                    + "\"max_completeness_ratio\":\(String(format: "%.3f", worst)),\"rows_past_steps\":\(doubled)}"
            )
        }
    }
}
