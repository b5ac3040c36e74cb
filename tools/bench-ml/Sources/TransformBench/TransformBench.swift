import Foundation
import ModelwireData
import ModelwireML

/// Release-built benchmark of the deployment transforms (issue 14's goals), in process, one thread:
/// - 90 % magnitude pruning + fine-tuning of a 100→256→256→10 net (the teacher below): test accuracy
///   against the unpruned net (note that fine-tuning adds epochs);
/// - structured pruning of the 100→64→64→10 net to half the hidden width + fine-tuning: throughput at
///   1024 rows and accuracy;
/// - distillation of a 100→256→256→10 teacher into a 100→32→10 student against the same student
///   trained on the labels alone (same seed and epochs), and the student's throughput against the
///   teacher's.
/// Accuracies are means over the seeds. Prints one JSON object per seed and a summary line.
/// With `--sparse` it prints the sparse storage and kernel rows instead (`SparseRows`): the
/// 100→256→256→10 and 100→64→64→10 nets trained with seed 0, pruned to 0.5, 0.8, 0.9 and 0.95.
/// usage: TransformBench <data dir> [--dataset synthetic] [--seeds 3] [--epochs 10] [--fine-tune-epochs 5]
///        [--temperature 4] [--alpha 0.5] [--student-hidden 32] [--teacher-epochs <epochs>] [--sparse]
/// (`--student-hidden` and `--teacher-epochs` are for studying distillation: the goal is 32 units and a
/// teacher trained for `--epochs`.)
@main
struct TransformBench {
    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 2 else {
            FileHandle.standardError.write(Data("usage: TransformBench <data dir> [--seeds N] [--epochs N]\n".utf8))
            exit(2)
        }
        func flag(_ name: String) -> String? {
            guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
            return arguments[i + 1]
        }
        let name = flag("--dataset") ?? "synthetic"
        let seeds = Int(flag("--seeds") ?? "3") ?? 3
        let epochs = Int(flag("--epochs") ?? "10") ?? 10
        let fineTuneEpochs = Int(flag("--fine-tune-epochs") ?? "5") ?? 5
        let temperature = Float(flag("--temperature") ?? "4") ?? 4
        let alpha = Float(flag("--alpha") ?? "0.5") ?? 0.5
        let studentHidden = Int(flag("--student-hidden") ?? "32") ?? 32
        let teacherEpochs = Int(flag("--teacher-epochs") ?? "\(epochs)") ?? epochs
        let data = try Dataset(contentsOfCSV: "\(arguments[1])/\(name).csv")
        let split = try DatasetSplit(contentsOfJSON: "\(arguments[1])/\(name)_split.json", rows: data.rows)
        let (train, test) = (data.subset(split.train), data.subset(split.test))
        if arguments.contains("--sparse") {
            let options = TrainingOptions(epochs: epochs, seed: 0)
            for hidden in [[256, 256], [64, 64]] {
                let model = try Trainer.train(spec: .dense(net(hidden)), options: options, dataset: train)
                guard case .dense(let parameters) = model.snapshot.parameters else { fatalError("not dense") }
                let name = "100-" + hidden.map(String.init).joined(separator: "-") + "-10"
                let rows = Array(test.features.prefix(1024 * test.columns))
                for row in try SparseRows.measure(net: name, parameters, rows: rows, sparsities: [0.5, 0.8, 0.9, 0.95])
                {
                    print(
                        String(
                            decoding: try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys]),
                            as: UTF8.self
                        )
                    )
                }
            }
            return
        }
        var rows: [[String: Double]] = []
        for seed in 0..<UInt64(seeds) {
            let options = TrainingOptions(epochs: epochs, seed: seed)
            let tune = TrainingOptions(epochs: fineTuneEpochs, seed: seed &+ 100)
            let source = try Trainer.train(spec: .dense(net([64, 64])), options: options, dataset: train)
            guard case .dense(let parameters) = source.snapshot.parameters else { fatalError("not dense") }

            let teacherOptions = TrainingOptions(epochs: teacherEpochs, seed: seed)
            let teacher = try Trainer.train(spec: .dense(net([256, 256])), options: teacherOptions, dataset: train)
            guard case .dense(let wide) = teacher.snapshot.parameters else { fatalError("not dense") }
            var sparse = teacher.snapshot
            sparse.parameters = .dense(try Pruning.magnitude(wide, sparsity: 0.9))
            let sparseTuned = try Trainer.fineTune(sparse, dataset: train, options: tune, holdZeros: true)

            var narrow = source.snapshot
            narrow.parameters = .dense(try Pruning.structured(parameters, sparsity: 0.5))
            let narrowTuned = try Trainer.fineTune(narrow, dataset: train, options: tune, holdZeros: false)
            let (sourceSpeed, narrowSpeed) = alternated(source, narrowTuned, test)

            let student = try Trainer.distill(
                teacher: teacher,
                student: net([studentHidden]),
                options: options,
                dataset: train,
                temperature: temperature,
                alpha: alpha
            )
            let alone = try Trainer.train(spec: .dense(net([studentHidden])), options: options, dataset: train)
            let (teacherSpeed, studentSpeed) = alternated(teacher, student, test)

            let row: [String: Double] = [
                "seed": Double(seed),
                "source_accuracy": try accuracy(source, test), "pruned90_source_accuracy": try accuracy(teacher, test),
                "pruned90_accuracy_before_fine_tune": try accuracy(try TrainedModel(snapshot: sparse), test),
                "pruned90_accuracy": try accuracy(sparseTuned, test),
                "half_width_accuracy": try accuracy(narrowTuned, test),
                "source_rows_per_s": sourceSpeed, "half_width_rows_per_s": narrowSpeed,
                "teacher_accuracy": try accuracy(teacher, test),
                "student_distilled_accuracy": try accuracy(student, test),
                "student_labels_only_accuracy": try accuracy(alone, test),
                "student_distilled_train_accuracy": try accuracy(student, train),
                "student_labels_only_train_accuracy": try accuracy(alone, train),
                "teacher_train_accuracy": try accuracy(teacher, train),
                "teacher_rows_per_s": teacherSpeed, "student_rows_per_s": studentSpeed,
            ]
            rows.append(row)
            print(
                String(decoding: try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys]), as: UTF8.self)
            )
        }
        func mean(_ key: String) -> Double { rows.map { $0[key]! }.reduce(0, +) / Double(rows.count) }
        let summary: [String: Double] = [
            "source_accuracy": mean("source_accuracy"), "pruned90_accuracy": mean("pruned90_accuracy"),
            "pruned90_source_accuracy": mean("pruned90_source_accuracy"),
            "pruned90_accuracy_before_fine_tune": mean("pruned90_accuracy_before_fine_tune"),
            "half_width_accuracy": mean("half_width_accuracy"),
            "half_width_speedup": mean("half_width_rows_per_s") / mean("source_rows_per_s"),
            "teacher_accuracy": mean("teacher_accuracy"),
            "student_distilled_accuracy": mean("student_distilled_accuracy"),
            "student_labels_only_accuracy": mean("student_labels_only_accuracy"),
            "student_distilled_train_accuracy": mean("student_distilled_train_accuracy"),
            "student_labels_only_train_accuracy": mean("student_labels_only_train_accuracy"),
            "teacher_train_accuracy": mean("teacher_train_accuracy"),
            "student_over_teacher_throughput": mean("student_rows_per_s") / mean("teacher_rows_per_s"),
        ]
        print(
            String(
                decoding: try JSONSerialization.data(withJSONObject: ["summary": summary], options: [.sortedKeys]),
                as: UTF8.self
            )
        )
    }

    static func net(_ hidden: [Int]) -> DenseNetSpec {
        DenseNetSpec(hiddenLayers: hidden.map { .init(units: $0, activation: .relu) })
    }

    static func accuracy(_ model: TrainedModel, _ test: Dataset) throws -> Double {
        guard case .classification(let metrics) = try model.evaluate(test) else { return .nan }
        return metrics.accuracy
    }

    /// Rows per second of 1024-row predicts for two models, alternated over 5 rounds, best of each.
    static func alternated(_ a: TrainedModel, _ b: TrainedModel, _ test: Dataset) -> (Double, Double) {
        let rows = Array(test.features.prefix(1024 * test.columns))
        var best = (0.0, 0.0)
        for _ in 0..<5 {
            best.0 = max(best.0, throughput(a, rows))
            best.1 = max(best.1, throughput(b, rows))
        }
        return best
    }

    static func throughput(_ model: TrainedModel, _ rows: [Float]) -> Double {
        let start = ContinuousClock.now
        let calls = 50
        for _ in 0..<calls { _ = model.outputs(rows) }
        let elapsed = start.duration(to: .now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Double(calls * 1024) / seconds
    }
}
