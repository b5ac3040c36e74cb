import Foundation
import ModelwireData
import ModelwireML

/// Release-built benchmark of the classic families (read by tools/bench-ml/classic.py): trains
/// each family with its defaults on a bundled split and prints one JSON object per line,
/// {"dataset", "family", "threads", "accuracy", "fit_s", "cpu_s", "iterations"} (cpu_s: process CPU time,
/// the fairer measure on a shared machine).
/// usage: ClassicBench <data dir> <dataset> <family,family,...> [--threads N] [--trees N] [--seed N]
///        [--max-bins N] [--early-stopping 0|1] (the last two for experiments: bins of tree/forest/gbdt,
///        gbdt's early stopping off or on instead of "auto")
@main
struct ClassicBench {
    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 4 else {
            FileHandle.standardError.write(
                Data("usage: ClassicBench <data dir> <dataset> <families> [--threads N] [--trees N] [--seed N]\n".utf8)
            )
            exit(2)
        }
        let (dir, name) = (arguments[1], arguments[2])
        let families = arguments[3].split(separator: ",").map(String.init)
        func flag(_ name: String) -> Int? {
            guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
            return Int(arguments[i + 1])
        }
        let threads = flag("--threads") ?? 1
        let data = try Dataset(contentsOfCSV: "\(dir)/\(name).csv")
        let split = try DatasetSplit(contentsOfJSON: "\(dir)/\(name)_split.json", rows: data.rows)
        let train = data.subset(split.train)
        let test = data.subset(split.test)
        for family in families {
            let spec: ModelSpec
            var tree = TreeSpec()
            if let bins = flag("--max-bins") { tree.maxBins = bins }
            switch family {
            case "logistic": spec = .logistic(LinearSpec())
            case "svm": spec = .svm(LinearSpec())
            case "tree": spec = .tree(tree)
            case "forest": spec = .forest(ForestSpec(trees: flag("--trees") ?? 100, tree: tree, threads: threads))
            case "gbdt":
                var boosting = GradientBoostingSpec()
                if let bins = flag("--max-bins") { boosting.maxBins = bins }
                if let on = flag("--early-stopping") { boosting.earlyStopping = on == 0 ? .off : .on }
                spec = .gbdt(boosting)
            default:
                FileHandle.standardError.write(Data("ClassicBench: unknown family \(family)\n".utf8))
                exit(2)
            }
            let seed = UInt64(flag("--seed") ?? 0)
            let start = Date()
            let cpuStart = clock()
            let model = try Trainer.train(
                spec: spec,
                options: .defaults {
                    $0.threads = threads
                    $0.seed = seed
                },
                dataset: train
            )
            let fit = Date().timeIntervalSince(start)
            let cpu = Double(clock() - cpuStart) / Double(CLOCKS_PER_SEC)
            guard case .classification(let metrics) = try model.evaluate(test) else { fatalError("not a classifier") }
            let line: [String: Any] = [
                "dataset": name, "family": family, "threads": threads, "accuracy": metrics.accuracy,
                "fit_s": fit, "cpu_s": cpu, "iterations": model.snapshot.training.epochsRun,
            ]
            let json = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
            FileHandle.standardOutput.write(json + Data("\n".utf8))
        }
    }
}
