import ArgumentParser
import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol

extension ModelwireCommand {
    /// `modelwire tune`: a cross-validated hyper-parameter search; the best configuration is
    /// refit on all rows and saved as the model's next version.
    struct Tune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Search hyper-parameters by k-fold cross-validation and save the best as the next version.",
            discussion: """
                GRID SYNTAX: --grid 'NAME=V1|V2|...;NAME=...' — axes separated by ';', values by '|'. \
                Every combination is tried (the last axis varies fastest), or --random N of them drawn \
                with --seed. Example: --grid 'hidden=32|64,64;learning-rate=0.001|0.01;l2=0|0.0001' \
                tries 2 × 2 × 2 = 8 configurations ("64,64" is two hidden layers of 64; "none" no hidden layer).

                PARAMETERS per --family (`_` and `-` are the same):
                  mlp:      hidden, learning-rate, l2, epochs, batch-size
                  logistic: c, l2, max-iter, tol (and epochs, batch-size, learning-rate for its sgd solver)
                  tree:     max-depth (a number or none), min-samples-split, min-samples-leaf, criterion (gini|entropy|mse)
                  forest:   trees, max-depth, min-samples-leaf, min-samples-split, criterion, max-features (a share in (0, 1])
                  gbdt:     iterations, learning-rate, max-depth, max-leaf-nodes, min-samples-leaf, l2
                A parameter not in the grid keeps its default (or --epochs, --batch-size, --learning-rate, --l2).

                FOLDS: stratified k-fold for classification (each fold keeps the class shares), plain k-fold \
                for regression; rows are shuffled with --seed unless --no-shuffle (then the folds are \
                scikit-learn's StratifiedKFold/KFold(shuffle=False)). --folds must be ≥ 2 and at most the \
                rows of the rarest class.

                The server runs the fits on at most --max-concurrent-jobs threads. Output: one line per \
                finished trial (its settings, fold scores, mean ± std, ETA), then every trial sorted by \
                score; with --json one object per event: accepted, trial, result (with the whole table). \
                Interrupting detaches (`jobs cancel ID` stops the search).
                """
        )

        enum Metric: String, ExpressibleByArgument, CaseIterable {
            case accuracy
            case f1Macro = "f1_macro"
            case logLoss = "log_loss"
            case rmse, r2
        }

        @OptionGroup var client: ClientOptions

        @Option(help: "Model name; the refit best configuration becomes its next version.") var model: String
        @Option(help: ArgumentHelp("Data: a CSV file with a header row, or - for stdin.", valueName: "file.csv|-"))
        var data: String?
        @OptionGroup var csv: CSVInputOptions
        @OptionGroup(title: "Raw columns (text categories, missing values)") var preprocessing: PreprocessingOptions
        @OptionGroup var missingValues: MissingValueOptions
        @Option(help: "Tune on a dataset uploaded with `datasets upload` instead of --data.") var dataset: String?
        @Option(help: "The label column's name (default: the last column).") var label: String?
        @Option(help: "What the model predicts.") var task: Train.Task = .classification
        @Option(help: "Model family: mlp, logistic, svm, tree, forest, gbdt.") var family: Train.Family = .mlp
        @Option(help: ArgumentHelp("The grid (see GRID SYNTAX below).", valueName: "name=a|b;name=c|d")) var grid:
            String
        @Option(help: "Try N combinations drawn at random from the grid instead of all.") var random: UInt32?
        @Option(help: "Seed of the fold shuffle, the random search and the fits (default 0).") var seed: UInt64 = 0
        @Option(help: "Folds (default 5).") var folds: UInt32 = 5
        @Flag(help: "Fold the rows in file order (scikit-learn's shuffle=False).") var noShuffle = false
        @Option(help: "Score (default accuracy; r2 for regression).") var metric: Metric?
        @Option(help: "Refuse grids with more trials than this (default 1000).") var maxTrials: UInt32?
        @Option(help: "Epochs of every fit (mlp, sgd; default 10).") var epochs: UInt32?
        @Option(help: "Mini-batch size of every fit (default 32).") var batchSize: UInt32?
        @Option(help: "Learning rate of every fit (default: the optimizer's).") var learningRate: Float?
        @Option(help: "L2 weight decay of every fit.") var l2: Float?

        func validate() throws {
            guard (self.data == nil) != (self.dataset == nil) else {
                throw ValidationError("give exactly one of --data FILE.csv or --dataset NAME")
            }
            _ = try Self.parseGrid(self.grid)
        }

        /// `name=a|b;name=c` → the request's axes.
        static func parseGrid(_ text: String) throws -> [V1.TuneParameter] {
            try text.split(separator: ";").filter { !$0.trimmingCharacters(in: " ").isEmpty }.map { axis in
                let parts = axis.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, !parts[0].trimmingCharacters(in: " ").isEmpty else {
                    throw ValidationError("--grid: '\(axis)' is not NAME=VALUE|VALUE...")
                }
                let values = parts[1].split(separator: "|", omittingEmptySubsequences: false).map {
                    $0.trimmingCharacters(in: " ")
                }
                guard !values.contains(where: \.isEmpty) else {
                    throw ValidationError("--grid: '\(axis)' has an empty value")
                }
                return V1.TuneParameter(name: parts[0].trimmingCharacters(in: " "), values: values)
            }
        }

        func request(data: TableInput.JobData) throws -> V1.TuneRequest {
            let task: V1.Task = self.task == .regression ? .regression : .classification
            var spec = V1.ModelSpec(task: task)
            switch self.family {
            case .mlp:
                spec.family = .dense(
                    V1.DenseNetSpec(hidden: [V1.DenseLayerSpec(units: 64), V1.DenseLayerSpec(units: 64)])
                )
            case .logistic: spec.family = .logistic(V1.LogisticRegressionSpec())
            case .svm: spec.family = .linearSvm(V1.LinearSvmSpec())
            case .tree: spec.family = .tree(V1.DecisionTreeSpec(criterion: task == .regression ? .mse : .gini))
            case .forest:
                spec.family = .forest(
                    V1.ForestSpec(tree: V1.DecisionTreeSpec(criterion: task == .regression ? .mse : .gini))
                )
            case .gbdt: spec.family = .gbdt(V1.GradientBoostingSpec())
            }
            let metric: V1.TuneMetric =
                switch self.metric {
                case .accuracy?: .accuracy
                case .f1Macro?: .f1Macro
                case .logLoss?: .logLoss
                case .rmse?: .rmse
                case .r2?: .r2
                case nil: .default
                }
            var request = V1.TuneRequest(
                model: self.model,
                spec: spec,
                grid: try Self.parseGrid(self.grid),
                randomTrials: self.random ?? 0,
                seed: self.seed,
                folds: self.folds,
                noShuffle: self.noShuffle,
                metric: metric,
                maxTrials: self.maxTrials ?? 0,
                options: V1.TrainingOptions(
                    optimizer: V1.Optimizer(learningRate: self.learningRate ?? 0),
                    epochs: self.epochs ?? 0,
                    batchSize: self.batchSize ?? 0,
                    l2: self.l2 ?? 0
                )
            )
            switch data {
            case .inline(let rows): request.data = .inlineData(rows)
            case .dataset(let name): request.data = .dataset(name)
            case .table(let table): request.data = .table(table)
            }
            if data.isTable || self.preprocessing.requested { request.preprocessing = self.preprocessing.spec }
            return request
        }

        func run() async throws {
            try await self.client.run("tune") { client in
                let (data, uploaded) = try await TableInput.jobRows(
                    path: self.data,
                    dataset: self.dataset,
                    label: self.label,
                    task: self.task == .regression ? .regression : .classification,
                    format: self.csv.format,
                    missing: self.missingValues.tokens,
                    preprocessing: self.preprocessing,
                    client: client,
                    options: self.client.callOptions
                )
                let events = try await client.tune(try self.request(data: data), options: self.client.callOptions)
                var view = TuneView(json: self.client.json)
                let result = try await view.follow(events)
                if let uploaded { try? await client.deleteDataset(name: uploaded) }
                guard let result else { throw ModelwireError(.unknown, "the tune stream ended without a result") }
                if !self.client.json { view.table(result) }
            }
        }
    }
}
