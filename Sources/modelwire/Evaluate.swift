import ArgumentParser
import ModelwireClient
import ModelwireCodec
import ModelwireDataWire

extension ModelwireCommand {
    /// `modelwire evaluate`: metrics of a model on labelled rows.
    struct Evaluate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Evaluate a model on a labelled CSV file: per-class precision, recall, F1, support, confusion matrix, "
                + "ROC-AUC and average precision; optionally permutation importance."
        )

        @OptionGroup var client: ClientOptions
        @Option(help: "Model name.") var model: String
        @Option(help: "Version number or alias (default: the latest).") var version: String?
        @Option(
            help: ArgumentHelp("Labelled rows: a CSV file with a header row, or - for stdin.", valueName: "file.csv|-")
        )
        var data: String?
        @OptionGroup var csv: CSVInputOptions
        @OptionGroup var missingValues: MissingValueOptions
        @Option(help: "Evaluate on an uploaded dataset instead of --data.") var dataset: String?
        @Option(help: "The label column's name (default: the last column).") var label: String?
        @Option(
            name: .customLong("permutation-importance"),
            help: ArgumentHelp(
                "Also rank the features by permutation importance, shuffling each N times (1-100; off by default).",
                valueName: "N"
            )
        )
        var permutationRepeats: UInt32?
        @Option(help: "Seed of the permutation shuffles (default 0).") var seed: UInt64 = 0

        func validate() throws {
            guard (self.data == nil) != (self.dataset == nil) else {
                throw ValidationError("give exactly one of --data FILE.csv or --dataset NAME")
            }
            _ = try modelRef(self.model, self.version)
            if let repeats = self.permutationRepeats, !(1...100).contains(repeats) {
                throw ValidationError("--permutation-importance must be in 1...100, got \(repeats)")
            }
        }

        /// A model with preprocessing evaluates a typed table: its label column is --label, else the last.
        private func tableData(
            _ path: String,
            _ client: ModelwireClient,
            _ info: V1.ModelVersionInfo,
            _ preprocessing: V1.Preprocessing
        ) async throws -> (V1.EvaluateRequest.Data, String?) {
            let (table, label) = try TableInput.labelled(
                path: path,
                label: self.label,
                classification: info.task != .regression,
                format: self.csv.format,
                missing: self.missingValues.tokens,
                textColumns: TableInput.textColumns(of: preprocessing)
            )
            let labelled = V1.LabelledTable(table, labelColumn: label)
            let uploaded = try await TableInput.stage(labelled, table, client: client, options: self.client.callOptions)
            return (uploaded.map { .dataset($0) } ?? .table(labelled), uploaded)
        }

        func run() async throws {
            try await self.client.run("evaluate") { client in
                let ref = try modelRef(self.model, self.version)
                var uploaded: String?
                let data: V1.EvaluateRequest.Data
                if let path = self.data {
                    // The model's task decides how the label column is read.
                    let info = try await client.describeModel(ref, options: self.client.callOptions)
                    if let preprocessing = info.preprocessing {
                        (data, uploaded) = try await self.tableData(path, client, info, preprocessing)
                    } else {
                        let rows = try DataInput.labelled(
                            path: path,
                            label: self.label,
                            task: info.task,
                            format: self.csv.format
                        )
                        uploaded = try await DataInput.stage(rows, client: client, options: self.client.callOptions)
                        data = uploaded.map { .dataset($0) } ?? .inlineData(rows)
                    }
                } else {
                    data = .dataset(self.dataset!)
                }
                let response: V1.EvaluateResponse
                do {
                    response = try await client.evaluate(
                        V1.EvaluateRequest(
                            model: ref,
                            data: data,
                            permutationRepeats: self.permutationRepeats ?? 0,
                            permutationSeed: self.seed
                        ),
                        options: self.client.callOptions
                    )
                } catch {
                    if let uploaded { try? await client.deleteDataset(name: uploaded) }
                    throw error
                }
                if let uploaded { try? await client.deleteDataset(name: uploaded) }
                if self.client.json {
                    var fields: [(String, JSON)] = [
                        ("model", .string(response.model)), ("version", .uint(UInt64(response.version))),
                    ]
                    if case .object(let metrics) = Shapes.evaluation(response.evaluation) { fields += metrics }
                    if self.permutationRepeats != nil {
                        fields.append(("permutation_importance", Shapes.importances(response.permutationImportance)))
                    }
                    self.client.emit(.object(fields))
                } else {
                    Output.line("model \(response.model) version \(response.version)")
                    if let evaluation = response.evaluation { Output.line(Report.full(evaluation)) }
                    if !response.permutationImportance.isEmpty {
                        Output.line("")
                        Output.line(Report.importances(response.permutationImportance))
                    }
                }
            }
        }
    }
}
