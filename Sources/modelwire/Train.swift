import ArgumentParser
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol

extension ModelwireCommand {
    /// `modelwire train`: trains a model from a CSV and follows its progress.
    struct Train: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train a model from a CSV file (or an uploaded dataset) and follow its progress.",
            discussion: """
                The CSV has a header row (or --no-header); the label column is --label or the last one; \
                the delimiter is --delimiter or detected (, ; tab). Rows are sent inline with the call; \
                files above 8 MiB of features are uploaded as a temporary dataset first.

                A CSV with text columns or missing values (empty, NA, NaN, null, ?, ...; see --na-values) \
                is sent as a typed table: the server infers numeric, categorical and boolean columns \
                (override with --categorical, --numeric, --drop), imputes missing values (--impute), \
                encodes categories (--encoding, --max-categories) and stores that preprocessing in the \
                model, which then predicts from raw rows. Without such columns the rows go as numbers.

                Interrupting the command detaches from the job, which keeps running (see `jobs watch`); \
                a server shutting down stops the job and says so.
                """
        )

        enum Task: String, ExpressibleByArgument, CaseIterable { case classification, regression }
        enum Family: String, ExpressibleByArgument, CaseIterable { case mlp, logistic, svm, tree, forest, gbdt }
        enum SolverName: String, ExpressibleByArgument, CaseIterable {
            case auto, lbfgs
            case dualCD = "dual-cd"
            case sgd
        }
        enum EarlyStoppingName: String, ExpressibleByArgument, CaseIterable { case auto, on, off }
        enum ActivationName: String, ExpressibleByArgument, CaseIterable { case relu, tanh, sigmoid }
        enum OptimizerName: String, ExpressibleByArgument, CaseIterable { case adam, sgd, momentum, nesterov, gd }
        enum MonitorName: String, ExpressibleByArgument, CaseIterable {
            case validationLoss = "val-loss"
            case validationAccuracy = "val-accuracy"
            case trainingLoss = "train-loss"
        }
        enum CriterionName: String, ExpressibleByArgument, CaseIterable { case gini, entropy, mse }

        @OptionGroup var client: ClientOptions

        @Option(help: "Model name; the trained model becomes its next version.") var model: String
        @Option(
            help: ArgumentHelp("Training data: a CSV file with a header row, or - for stdin.", valueName: "file.csv|-")
        )
        var data: String?
        @OptionGroup var csv: CSVInputOptions
        @OptionGroup(title: "Raw columns (text categories, missing values)") var preprocessing: PreprocessingOptions
        @OptionGroup var missingValues: MissingValueOptions
        @Option(help: "Train on a dataset uploaded with `datasets upload` instead of --data.") var dataset: String?
        @Option(help: "The label column's name (default: the last column).") var label: String?
        @Option(help: "What the model predicts.") var task: Task = .classification
        @Option(
            help:
                "Model family: mlp (dense network), logistic, svm (linear), tree, forest (random forest), gbdt (gradient-boosted trees)."
        )
        var family: Family = .mlp
        @Option(help: ArgumentHelp("Hidden layer sizes of an mlp, comma separated.", valueName: "64,64")) var hidden:
            String = "64,64"
        @Option(help: "Activation of the hidden layers.") var activation: ActivationName = .relu
        @Option(help: "Epochs (default 10).") var epochs: UInt32?
        @Option(help: "Mini-batch size (default 32).") var batchSize: UInt32?
        @Option(help: "Learning rate (default: the optimizer's, adam 0.001).") var learningRate: Float?
        @Option(help: "Random seed (default: random, reported in the result).") var seed: UInt64?
        @Option(help: "Optimizer.") var optimizer: OptimizerName = .adam
        @Option(help: "Momentum of momentum/nesterov (default 0.9).") var momentum: Float?
        @Option(help: "Fraction of rows held out for validation, in [0, 0.5].") var validationSplit: Float?
        @Option(help: "Enable early stopping after this many epochs without improvement.") var patience: UInt32?
        @Option(help: "What early stopping watches.") var monitor: MonitorName = .validationLoss
        @Flag(help: "With early stopping: keep the best epoch's weights.") var restoreBestWeights = false
        @Option(help: "L2 weight decay.") var l2: Float?
        @Option(help: "Tree: maximum depth (default unlimited).") var maxDepth: UInt32?
        @Option(help: "Tree: minimum rows to split a node.") var minSamplesSplit: UInt32?
        @Option(help: "Tree: minimum rows per leaf.") var minSamplesLeaf: UInt32?
        @Option(help: "Tree: split criterion (default gini; mse for regression).") var criterion: CriterionName?
        @Option(help: "Tree/forest: histogram bins per feature, 2...65535 (default 256; gbdt 255).") var maxBins:
            UInt32?
        @Flag(help: "Tree: exact sort-based split search instead of histograms.") var exact = false
        @Option(
            name: [.customLong("C"), .customShort("C")],
            help:
                "logistic/svm: inverse regularisation strength C > 0 (default 1, scikit-learn's; l2 = 1/(2·C·rows) for --solver sgd)."
        )
        var inverseRegularization: Float?
        @Option(
            help:
                "logistic/svm: solver (auto: lbfgs for logistic; svm: lbfgs on the primal when rows > features, else dual-cd; sgd: the optimizer's mini-batch loop)."
        )
        var solver: SolverName = .auto
        @Option(help: "logistic/svm: convergence tolerance (default 1e-4).") var tol: Float?
        @Option(help: "logistic/svm: iteration limit (default 100 logistic, 1000 svm).") var maxIter: UInt32?
        @Flag(help: "svm: the hinge loss instead of the squared hinge (LinearSVC's default); dual-cd only.") var hinge =
            false
        @Option(help: "forest: trees, 1...10000 (default 100).") var trees: UInt32?
        @Option(
            help:
                "forest: share of features tried per split, (0, 1] (default sqrt for classification, all for regression)."
        )
        var maxFeatures: Float?
        @Flag(help: "forest: grow every tree on all rows instead of a bootstrap sample.") var noBootstrap = false
        @Option(help: "forest: trees grown at once, 1...64 (default 1; the forest is the same for every count).")
        var threads: UInt32?
        @Option(
            help:
                "gbdt: boosting iterations (default 100). The learning rate is --learning-rate (default 0.1), leaf L2 --l2 (default 0), --max-depth (default unlimited), --min-samples-leaf (default 20)."
        )
        var iterations: UInt32?
        @Option(help: "gbdt: most leaves per tree (default 31).") var maxLeafNodes: UInt32?
        @Option(help: "gbdt: early stopping on 10% of the training rows (auto: on above 10000 rows).")
        var earlyStopping: EarlyStoppingName = .auto
        @Option(help: "Also report progress every N batches (default: per epoch).") var progressEvery: UInt32?
        @Flag(help: "Do not standardise features.") var noStandardize = false
        @Flag(help: "Print the job id and return without following the job.") var detach = false

        func validate() throws {
            guard (self.data == nil) != (self.dataset == nil) else {
                throw ValidationError("give exactly one of --data FILE.csv or --dataset NAME")
            }
            _ = try self.hiddenLayers()
            try self.checkFlagsFitTheFamily()
            if let split = self.validationSplit, !(0...0.5).contains(split) {
                throw ValidationError("--validation-split must be in [0, 0.5]")
            }
            if let rate = self.learningRate, !(rate > 0) { throw ValidationError("--learning-rate must be positive") }
            if self.epochs == 0 { throw ValidationError("--epochs must be at least 1") }
            if self.batchSize == 0 { throw ValidationError("--batch-size must be at least 1") }
            if let bins = self.maxBins, !(2...65535).contains(bins) {
                throw ValidationError("--max-bins must be in 2...65535")
            }
            if let c = self.inverseRegularization, !(c > 0 && c.isFinite) {
                throw ValidationError("-C must be positive and finite")
            }
            if let tol = self.tol, !(tol > 0 && tol.isFinite) { throw ValidationError("--tol must be positive") }
            if self.maxIter == 0 { throw ValidationError("--max-iter must be at least 1") }
            if let trees = self.trees, !(1...10000).contains(trees) {
                throw ValidationError("--trees must be in 1...10000")
            }
            if let share = self.maxFeatures, !(share > 0 && share <= 1) {
                throw ValidationError("--max-features must be in (0, 1]")
            }
            if let threads = self.threads, !(1...64).contains(threads) {
                throw ValidationError("--threads must be in 1...64")
            }
            if self.iterations == 0 { throw ValidationError("--iterations must be at least 1") }
            if let leaves = self.maxLeafNodes, leaves < 2 {
                throw ValidationError("--max-leaf-nodes must be at least 2")
            }
        }

        /// Refuses flags that the chosen family or task would ignore (the request cannot carry
        /// them, so the server cannot see them; what the request carries the server checks).
        func checkFlagsFitTheFamily() throws {
            let trees: Set<Family> = [.tree, .forest, .gbdt]
            func refuse(_ flag: String, _ families: String) throws {
                throw ValidationError("\(flag) applies to \(families), not to --family \(self.family.rawValue)")
            }
            if self.maxDepth != nil, !trees.contains(self.family) { try refuse("--max-depth", "tree, forest and gbdt") }
            if self.epochs != nil, trees.contains(self.family) {
                try refuse("--epochs", "mlp, and logistic/svm with --solver sgd")
            }
            if self.trees != nil, self.family != .forest { try refuse("--trees", "forest") }
            if self.iterations != nil || self.maxLeafNodes != nil, self.family != .gbdt {
                try refuse("--iterations and --max-leaf-nodes", "gbdt")
            }
            if self.hidden != "64,64" || self.activation != .relu, self.family != .mlp {
                try refuse("--hidden and --activation", "mlp")
            }
            switch (self.criterion, self.task) {
            case (.gini?, .regression), (.entropy?, .regression):
                throw ValidationError(
                    "--criterion \(self.criterion!.rawValue) is for classification; regression trees use mse"
                )
            case (.mse?, .classification):
                throw ValidationError("--criterion mse is for regression; classification trees use gini or entropy")
            default: break
            }
        }

        func hiddenLayers() throws -> [UInt32] {
            let trimmed = self.hidden.trimmingCharacters(in: " ")
            if trimmed.isEmpty || trimmed == "none" { return [] }
            return try trimmed.split(separator: ",").map {
                guard let units = UInt32($0.trimmingCharacters(in: " ")), units > 0 else {
                    throw ValidationError("--hidden: '\(self.hidden)' is not a comma-separated list of positive sizes")
                }
                return units
            }
        }

        var wireSolver: V1.LinearSolver {
            switch self.solver {
            case .auto: .auto
            case .lbfgs: .lbfgs
            case .dualCD: .dualCd
            case .sgd: .sgd
            }
        }

        func treeSpec(task: V1.Task) -> V1.DecisionTreeSpec {
            let criterion: V1.TreeCriterion =
                switch self.criterion {
                case .entropy: .entropy
                case .mse: .mse
                case .gini: .gini
                case nil: task == .regression ? .mse : .gini
                }
            return V1.DecisionTreeSpec(
                criterion: criterion,
                maxDepth: self.maxDepth ?? 0,
                minSamplesSplit: self.minSamplesSplit ?? 0,
                minSamplesLeaf: self.minSamplesLeaf ?? 0,
                maxBins: self.maxBins ?? 0,
                exact: self.exact
            )
        }

        func request(data: TableInput.JobData) throws -> V1.TrainRequest {
            let task: V1.Task = self.task == .regression ? .regression : .classification
            var spec = V1.ModelSpec(task: task)
            switch self.family {
            case .mlp:
                let activation: V1.Activation =
                    switch self.activation {
                    case .relu: .relu
                    case .tanh: .tanh
                    case .sigmoid: .sigmoid
                    }
                spec.family = .dense(
                    V1.DenseNetSpec(
                        hidden: try self.hiddenLayers().map {
                            V1.DenseLayerSpec(units: $0, activation: activation)
                        }
                    )
                )
            case .logistic:
                spec.family = .logistic(
                    V1.LogisticRegressionSpec(
                        c: self.inverseRegularization ?? 0,
                        tol: self.tol ?? 0,
                        maxIter: self.maxIter ?? 0,
                        solver: self.wireSolver
                    )
                )
            case .svm:
                spec.family = .linearSvm(
                    V1.LinearSvmSpec(
                        c: self.inverseRegularization ?? 0,
                        tol: self.tol ?? 0,
                        maxIter: self.maxIter ?? 0,
                        solver: self.wireSolver,
                        hinge: self.hinge
                    )
                )
            case .tree:
                spec.family = .tree(self.treeSpec(task: task))
            case .forest:
                spec.family = .forest(
                    V1.ForestSpec(
                        tree: self.treeSpec(task: task),
                        trees: self.trees ?? 0,
                        maxFeatures: self.maxFeatures ?? 0,
                        noBootstrap: self.noBootstrap,
                        threads: self.threads ?? 0
                    )
                )
            case .gbdt:
                let stopping: V1.BoostingEarlyStopping =
                    switch self.earlyStopping {
                    case .auto: .auto
                    case .on: .on
                    case .off: .off
                    }
                spec.family = .gbdt(
                    V1.GradientBoostingSpec(
                        iterations: self.iterations ?? 0,
                        learningRate: self.learningRate ?? 0,
                        maxLeafNodes: self.maxLeafNodes ?? 0,
                        maxDepth: self.maxDepth ?? 0,
                        minSamplesLeaf: self.minSamplesLeaf ?? 0,
                        l2: self.l2 ?? 0,
                        maxBins: self.maxBins ?? 0,
                        earlyStopping: stopping
                    )
                )
            }
            let kind: V1.OptimizerKind =
                switch self.optimizer {
                case .adam: .adam
                case .sgd: .sgd
                case .momentum: .momentum
                case .nesterov: .nesterov
                case .gd: .gd
                }
            var options = V1.TrainingOptions(
                optimizer: V1.Optimizer(kind: kind, learningRate: self.learningRate ?? 0, momentum: self.momentum ?? 0),
                epochs: self.epochs ?? 0,
                batchSize: self.batchSize ?? 0,
                validationSplit: self.validationSplit ?? 0,
                seed: self.seed,
                l2: self.l2 ?? 0,
                progressEveryBatches: self.progressEvery ?? 0,
                disableStandardization: self.noStandardize
            )
            if let patience = self.patience {
                let monitor: V1.Monitor =
                    switch self.monitor {
                    case .validationLoss: .validationLoss
                    case .validationAccuracy: .validationAccuracy
                    case .trainingLoss: .trainingLoss
                    }
                options.earlyStopping = V1.EarlyStopping(
                    monitor: monitor,
                    patience: patience,
                    restoreBestWeights: self.restoreBestWeights
                )
            }
            var request = V1.TrainRequest(model: self.model, spec: spec, options: options)
            switch data {
            case .inline(let rows): request.data = .inlineData(rows)
            case .dataset(let name): request.data = .dataset(name)
            case .table(let table): request.data = .table(table)
            }
            if data.isTable || self.preprocessing.requested { request.preprocessing = self.preprocessing.spec }
            return request
        }

        func run() async throws {
            try await self.client.run("train") { client in
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
                let request = try self.request(data: data)
                // The call's own deadline (if any) applies to the whole stream; connect and retries as usual.
                let events = try await client.train(request, options: self.client.callOptions)
                var view = ProgressView(json: self.client.json)
                if self.detach {
                    for try await event in events {
                        _ = view.show(event)
                        if case .accepted = event.event { break }
                    }
                    return
                }
                let result = try await view.follow(events, options: self.client)
                if let uploaded { try? await client.deleteDataset(name: uploaded) }
                guard let result else { throw ModelwireError(.unknown, "the training stream ended without a result") }
                if !self.client.json { Output.line(ProgressView.summary(result)) }
            }
        }
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = self[...]
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> String { String(self).trimmingCharacters(in: set) }
}
