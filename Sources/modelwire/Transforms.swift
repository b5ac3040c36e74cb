import ArgumentParser
import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireData
import ModelwireDataWire
import ModelwireProtocol

extension ModelwireCommand {
    /// `modelwire quantize`: int8 weights (and activations) into a new version, with its report.
    struct Quantize: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Quantize a dense net or a linear model to int8 into a new version and compare the two.",
            discussion: """
                Weights become int8 with one float scale per output unit (biases and the input \
                standardisation stay float), and predict runs on int8 kernels. Activations are scaled \
                per row at predict time (dynamic), or per layer from calibration rows (static): with \
                --activations auto (default) static scales are tried only when calibration rows are given \
                and kept only where they score better on --eval-data (else on the calibration rows); the \
                report says which won. The source version is never changed; the result is the next \
                version of --to (default: the same model). The report compares sizes, predict speed on \
                the server and, with --eval-data, accuracy, macro F1 and log loss.
                """
        )

        /// `--activations`.
        enum Scaling: String, ExpressibleByArgument, CaseIterable {
            case auto, dynamic, `static`
            var wire: V1.ActivationScaling {
                switch self {
                case .auto: .auto
                case .dynamic: .dynamic
                case .static: .static
                }
            }
        }

        @OptionGroup var client: ClientOptions
        @Option(help: "The source model (a dense net, logistic regression or linear SVM).") var model: String
        @Option(help: "The source version (default: the latest).") var version: UInt32?
        @Option(help: "Store the result as the next version of this model (default: --model).") var to: String?
        @Option(help: ArgumentHelp("Rows for static activation scales (CSV, labels ignored).", valueName: "file.csv"))
        var calibrationData: String?
        @Option(help: ArgumentHelp("An uploaded dataset for static activation scales.", valueName: "name"))
        var calibrationDataset: String?
        @Option(help: "Activation scaling: auto, dynamic or static (static needs calibration rows).")
        var activations: Scaling = .auto
        @Option(help: ArgumentHelp("Labelled rows for the report's accuracy columns.", valueName: "file.csv"))
        var evalData: String?
        @OptionGroup var csv: CSVInputOptions

        func validate() throws {
            if self.calibrationData != nil, self.calibrationDataset != nil {
                throw ValidationError("give --calibration-data or --calibration-dataset, not both")
            }
            let calibrated = self.calibrationData != nil || self.calibrationDataset != nil
            if self.activations == .static, !calibrated {
                throw ValidationError("--activations static needs --calibration-data or --calibration-dataset")
            }
            if self.activations == .dynamic, calibrated {
                throw ValidationError("--activations dynamic does not use calibration rows: leave them out")
            }
            if self.calibrationData == "-" && self.evalData == "-" {
                throw ValidationError("only one of --calibration-data and --eval-data can be -")
            }
        }

        func run() async throws {
            try await self.client.run("quantize") { client in
                let ref = V1.ModelRef(name: self.model, selector: self.version.map { .version($0) })
                let info = try await client.describeModel(ref, options: self.client.callOptions)
                let request = try self.request(ref, info)
                try await TransformRows.follow(
                    try await client.quantize(request, options: self.client.callOptions),
                    self.client
                )
            }
        }

        /// The request: the calibration rows (features only, in the model's column order) or
        /// dataset, and the evaluation rows.
        func request(_ ref: V1.ModelRef, _ info: V1.ModelVersionInfo) throws -> V1.QuantizeRequest {
            var request = V1.QuantizeRequest(
                model: ref,
                targetModel: self.to ?? "",
                activationScaling: self.activations.wire
            )
            if let path = self.calibrationData, let preprocessing = info.preprocessing {
                let table = try TableInput.modelTable(
                    path: path,
                    format: self.csv.format,
                    missing: DataTable.defaultMissingTokens,
                    preprocessing: preprocessing
                )
                request.calibrationData = V1.TransformData(source: .table(V1.LabelledTable(table: table)))
            } else if let path = self.calibrationData {
                let rows = try DataInput.features(path: path, model: info, labelColumn: nil, format: self.csv.format)
                let features = V1.Tensor(columns: UInt32(rows.columns), values: rows.values)
                request.calibrationData = V1.TransformData(
                    source: .inlineData(V1.Dataset(featureNames: rows.names, features: features))
                )
            } else if let name = self.calibrationDataset {
                request.calibrationData = V1.TransformData(source: .dataset(name))
            }
            if let path = self.evalData { request.evalData = try TransformRows.load(path, info, self.csv) }
            return request
        }
    }

    /// `modelwire prune`: magnitude pruning of a dense net into a new version, with its report.
    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prune a dense net into a new version and compare the two.",
            discussion: """
                Unstructured (default): the --sparsity share of all weights, smallest |w| first over every \
                layer, is set to zero. --structured: that share of each hidden layer's units is removed \
                (weakest incoming weights first), so the layers shrink and predict gets faster. \
                --fine-tune-epochs N --data CSV trains on afterwards (pruned weights held at zero). \
                The source version is never changed; the result is the next version of --to (default: \
                the same model). The report compares sizes, predict speed on the server and, with \
                --eval-data, accuracy, macro F1 and log loss.
                """
        )

        @OptionGroup var client: ClientOptions
        @Option(help: "The source model.") var model: String
        @Option(help: "The source version (default: the latest).") var version: UInt32?
        @Option(help: "Store the result as the next version of this model (default: --model).") var to: String?
        @Option(help: "Share of weights (or hidden units with --structured) removed, in (0, 1).") var sparsity: Float
        @Flag(help: "Remove whole hidden units instead of single weights.") var structured = false
        @Option(help: "Epochs of fine-tuning after pruning (needs --data; default 0, none).") var fineTuneEpochs:
            UInt32 =
                0
        @Option(help: ArgumentHelp("Fine-tuning rows (labelled CSV, or - for stdin).", valueName: "file.csv")) var data:
            String?
        @Option(help: ArgumentHelp("Labelled rows for the report's accuracy columns.", valueName: "file.csv"))
        var evalData: String?
        @Option(help: "Fine-tuning learning rate (default: adam's 0.001).") var learningRate: Float?
        @Option(help: "Fine-tuning random seed (default 1).") var seed: UInt64?
        @OptionGroup var csv: CSVInputOptions

        func validate() throws {
            guard self.sparsity > 0, self.sparsity < 1 else { throw ValidationError("--sparsity must be in (0, 1)") }
            if self.fineTuneEpochs > 0, self.data == nil { throw ValidationError("--fine-tune-epochs needs --data") }
            if self.fineTuneEpochs == 0, self.data != nil || self.learningRate != nil || self.seed != nil {
                throw ValidationError("--data, --learning-rate and --seed are for fine-tuning: give --fine-tune-epochs")
            }
            if self.data == "-" && self.evalData == "-" {
                throw ValidationError("only one of --data and --eval-data can be -")
            }
        }

        func run() async throws {
            try await self.client.run("prune") { client in
                let ref = V1.ModelRef(name: self.model, selector: self.version.map { .version($0) })
                let info = try await client.describeModel(ref, options: self.client.callOptions)
                var request = V1.PruneRequest(
                    model: ref,
                    targetModel: self.to ?? "",
                    sparsity: self.sparsity,
                    structured: self.structured,
                    fineTuneEpochs: self.fineTuneEpochs
                )
                request.fineTuneData = try self.data.map { try TransformRows.load($0, info, self.csv) }
                request.evalData = try self.evalData.map { try TransformRows.load($0, info, self.csv) }
                if self.learningRate != nil || self.seed != nil {
                    var options = V1.TrainingOptions(seed: self.seed ?? 1)
                    if let rate = self.learningRate {
                        options.optimizer = V1.Optimizer(kind: .adam, learningRate: rate)
                    }
                    request.fineTuneOptions = options
                }
                try await TransformRows.follow(
                    try await client.prune(request, options: self.client.callOptions),
                    self.client
                )
            }
        }
    }

    /// `modelwire distill`: a dense student trained on a teacher's softened probabilities.
    struct Distill: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Distill a classifier into a smaller dense student and compare the two.",
            discussion: """
                The student (--hidden) learns from the teacher's probabilities softened by --temperature \
                and from the labels of --data: loss = alpha * T^2 * KL(teacher_T || student_T) + \
                (1 - alpha) * cross-entropy (Hinton et al. 2015). It becomes the next version of --model; \
                the teacher is never changed. The report compares sizes, predict speed on the server and, \
                with --eval-data, accuracy, macro F1 and log loss.
                """
        )

        @OptionGroup var client: ClientOptions
        @Option(help: "The teacher model (a classifier with probabilities).") var teacher: String
        @Option(help: "The teacher's version (default: the latest).") var teacherVersion: UInt32?
        @Option(help: "The student's model name; the student becomes its next version.") var model: String
        @Option(help: ArgumentHelp("The student's hidden layer sizes, comma separated.", valueName: "32")) var hidden:
            String = "32"
        @Option(help: ArgumentHelp("Training rows (labelled CSV, or - for stdin).", valueName: "file.csv")) var data:
            String
        @Option(help: ArgumentHelp("Labelled rows for the report's accuracy columns.", valueName: "file.csv"))
        var evalData: String?
        @Option(help: "Softening temperature T > 0.") var temperature: Float = 4
        @Option(help: "Weight of the teacher's term, in [0, 1] (0 = labels only).") var alpha: Float = 0.5
        @Option(help: "Epochs (default 10).") var epochs: UInt32?
        @Option(help: "Learning rate (default: adam's 0.001).") var learningRate: Float?
        @Option(help: "Random seed (default: random, reported in the result).") var seed: UInt64?
        @OptionGroup var csv: CSVInputOptions

        func validate() throws {
            guard self.temperature > 0, self.temperature.isFinite else {
                throw ValidationError("--temperature must be > 0")
            }
            guard self.alpha >= 0, self.alpha <= 1 else { throw ValidationError("--alpha must be in [0, 1]") }
            _ = try self.layers()
            if self.data == "-" && self.evalData == "-" {
                throw ValidationError("only one of --data and --eval-data can be -")
            }
        }

        func layers() throws -> [V1.DenseLayerSpec] {
            try self.hidden.split(separator: ",").map {
                guard let units = UInt32($0.trimmingCharacters(in: " ")), units > 0 else {
                    throw ValidationError("--hidden: positive integers, comma separated (e.g. 64,32)")
                }
                return V1.DenseLayerSpec(units: units)
            }
        }

        func run() async throws {
            try await self.client.run("distill") { client in
                let teacher = try await client.describeModel(
                    V1.ModelRef(name: self.teacher, selector: self.teacherVersion.map { .version($0) }),
                    options: self.client.callOptions
                )
                var options = V1.TrainingOptions(epochs: self.epochs ?? 10)
                if let seed = self.seed { options.seed = seed }
                if let rate = self.learningRate { options.optimizer = V1.Optimizer(kind: .adam, learningRate: rate) }
                let request = V1.DistillRequest(
                    teacher: V1.ModelRef(name: self.teacher, selector: self.teacherVersion.map { .version($0) }),
                    model: self.model,
                    student: V1.DenseNetSpec(hidden: try self.layers()),
                    temperature: self.temperature,
                    alpha: self.alpha,
                    data: try TransformRows.load(self.data, teacher, self.csv),
                    options: options,
                    evalData: try self.evalData.map { try TransformRows.load($0, teacher, self.csv) }
                )
                try await TransformRows.follow(
                    try await client.distill(request, options: self.client.callOptions),
                    self.client
                )
            }
        }
    }
}

/// What Quantize, Prune and Distill share in the CLI: loading rows, following the job, printing the report.
enum TransformRows {
    /// Labelled rows (the label is the last column): numeric rows, or for a model with
    /// `preprocessing` a typed table of its raw columns.
    static func load(
        _ path: String,
        _ info: V1.ModelVersionInfo,
        _ csv: CSVInputOptions
    ) throws -> V1.TransformData {
        guard let preprocessing = info.preprocessing else {
            return V1.TransformData(
                source: .inlineData(try DataInput.labelled(path: path, label: nil, task: info.task, format: csv.format))
            )
        }
        let (table, label) = try TableInput.labelled(
            path: path,
            label: nil,
            classification: info.task != .regression,
            format: csv.format,
            missing: DataTable.defaultMissingTokens,
            textColumns: TableInput.textColumns(of: preprocessing)
        )
        return V1.TransformData(source: .table(V1.LabelledTable(table, labelColumn: label)))
    }

    /// Follows the job's events like `train`, then prints the report (a table, or JSON lines).
    static func follow(_ events: TrainEvents, _ options: ClientOptions) async throws {
        var view = ProgressView(json: options.json)
        guard let result = try await view.follow(events, options: options) else {
            throw ModelwireError(.unknown, "the job's stream ended without a result")
        }
        guard !options.json else { return }  // the result line carries the report
        Output.line("stored \(result.model) version \(result.version)")
        if let report = result.report { Output.line(Self.table(report)) }
    }

    /// The report as a table: one row per measure, source and result side by side.
    static func table(_ report: V1.TransformReport) -> String {
        let s = report.source ?? V1.TransformMeasurement()
        let r = report.result ?? V1.TransformMeasurement()
        func accuracy(_ m: V1.TransformMeasurement) -> V1.ClassificationMetrics? {
            if case .classification(let c)? = m.evaluation?.kind { return c }
            return nil
        }
        var rows: [(String, String, String)] = [
            ("version", "\(s.version)", "\(r.version)"),
            ("file", Output.bytes(s.fileBytes), Output.bytes(r.fileBytes)),
            ("parameters", "\(s.parameters)", "\(r.parameters)"),
            ("non-zero", "\(s.nonzeroParameters)", "\(r.nonzeroParameters)"),
            ("latency 1 row", String(format: "%.1f µs", s.latency1RowUs), String(format: "%.1f µs", r.latency1RowUs)),
            (
                "1024 rows", String(format: "%.0f rows/s", s.rowsPerSecond1024),
                String(format: "%.0f rows/s", r.rowsPerSecond1024)
            ),
        ]
        if let a = accuracy(s), let b = accuracy(r) {
            rows.append(("accuracy", Output.fixed(a.accuracy), Output.fixed(b.accuracy)))
            rows.append(("macro F1", Output.fixed(a.macro?.f1 ?? 0), Output.fixed(b.macro?.f1 ?? 0)))
            if let x = a.logLoss, let y = b.logLoss { rows.append(("log loss", Output.fixed(x), Output.fixed(y))) }
        }
        let width = rows.map(\.0.count).max()!
        let sourceWidth = max(rows.map(\.1.count).max()!, 6)
        var lines = [
            "\("".padding(toLength: width, withPad: " ", startingAt: 0))  \("source".padding(toLength: sourceWidth, withPad: " ", startingAt: 0))  result"
        ]
        for (name, a, b) in rows {
            lines.append(
                "\(name.padding(toLength: width, withPad: " ", startingAt: 0))  \(a.padding(toLength: sourceWidth, withPad: " ", startingAt: 0))  \(b)"
            )
        }
        lines += report.notes.map { "note: \($0)" }
        return lines.joined(separator: "\n")
    }
}
