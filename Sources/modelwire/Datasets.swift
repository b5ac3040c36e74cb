import ArgumentParser
import ModelwireClient
import ModelwireCodec
import ModelwireDataWire

extension ModelwireCommand {
    /// `modelwire datasets ...`: datasets stored on the server.
    struct Datasets: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upload, list and delete datasets stored on the server.",
            subcommands: [List.self, Upload.self, Delete.self],
            defaultSubcommand: List.self
        )

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List stored datasets.")
            @OptionGroup var client: ClientOptions

            func run() async throws {
                try await self.client.run("datasets list") { client in
                    let datasets = try await client.listDatasets(options: self.client.callOptions)
                    if self.client.json {
                        self.client.emit(.object([("datasets", .array(datasets.map(Shapes.dataset)))]))
                        return
                    }
                    guard !datasets.isEmpty else {
                        Output.line("no datasets")
                        return
                    }
                    Output.line(
                        Output.table(
                            ["DATASET", "KIND", "ROWS", "COLUMNS", "CLASSES", "SIZE", "CREATED"],
                            datasets.map {
                                [
                                    $0.name, $0.labelColumn.isEmpty ? "numeric" : "table (label \($0.labelColumn))",
                                    String($0.rows), String($0.columns),
                                    $0.classNames.isEmpty ? "-" : String($0.classNames.count),
                                    Output.bytes($0.sizeBytes), Output.date($0.createdUnixMs),
                                ]
                            }
                        )
                    )
                }
            }
        }

        struct Upload: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Upload a labelled CSV file as a named dataset (sent in chunks)."
            )
            enum Task: String, ExpressibleByArgument, CaseIterable { case classification, regression }
            @OptionGroup var client: ClientOptions
            @Option(help: "Dataset name.") var name: String
            @Option(help: ArgumentHelp("A CSV file with a header row, or - for stdin.", valueName: "file.csv|-"))
            var data: String
            @OptionGroup var csv: CSVInputOptions
            @Option(help: "The label column's name (default: the last column).") var label: String?
            @Option(help: "What the label column holds.") var task: Task = .classification
            @Flag(help: "Replace an existing dataset of that name.") var replace = false
            @Flag(
                help:
                    "Upload as a typed table (train then fits preprocessing on it); the default when a feature column holds text or gaps."
            )
            var table = false
            @OptionGroup var missingValues: MissingValueOptions

            func run() async throws {
                try await self.client.run("datasets upload") { client in
                    let (table, label) = try TableInput.labelled(
                        path: self.data,
                        label: self.label,
                        classification: self.task != .regression,
                        format: self.csv.format,
                        missing: self.missingValues.tokens,
                        textColumns: []
                    )
                    let info: V1.DatasetInfo
                    if self.table || TableInput.needsPreprocessing(table, label: label) {
                        info = try await client.uploadDataset(
                            name: self.name,
                            table: V1.LabelledTable(table, labelColumn: label),
                            replace: self.replace,
                            options: self.client.callOptions
                        )
                    } else {
                        let rows = try DataInput.labelled(
                            path: self.data,
                            label: self.label,
                            task: self.task == .regression ? .regression : .classification,
                            format: self.csv.format
                        )
                        info = try await client.uploadDataset(
                            name: self.name,
                            dataset: rows,
                            replace: self.replace,
                            options: self.client.callOptions
                        )
                    }
                    if self.client.json {
                        self.client.emit(Shapes.dataset(info))
                    } else {
                        Output.line(
                            "uploaded \(info.name): \(info.rows) rows, \(info.columns) columns, \(Output.bytes(info.sizeBytes))"
                        )
                    }
                }
            }
        }

        struct Delete: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Delete a dataset.")
            @OptionGroup var client: ClientOptions
            @Argument(help: "The dataset's name.") var name: String

            func run() async throws {
                try await self.client.run("datasets delete") { client in
                    try await client.deleteDataset(name: self.name, options: self.client.callOptions)
                    if self.client.json {
                        self.client.emit(.object([("deleted", .string(self.name))]))
                    } else {
                        Output.line("deleted dataset \(self.name)")
                    }
                }
            }
        }
    }
}
