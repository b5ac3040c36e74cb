import ArgumentParser
import ModelwireClient
import ModelwireCodec
import ModelwireData
import ModelwireDataWire

extension ModelwireCommand {
    /// `modelwire predict`: labels (and probabilities) for rows from a CSV file or stdin.
    struct Predict: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Predict labels for rows of a CSV file or stdin (-); a label column, when present, is ignored.",
            discussion: """
                Columns are matched by the model's feature names when the header has them; otherwise the file \
                has the model's column count, or one more (the label: --label, else a column named label, \
                target or class, or the last). Prints one label per row (regression: one value per row).

                A model trained from a table (text categories, missing values) reads the CSV as a typed table: \
                its raw columns by name, missing fields as --na-values says.
                """
        )

        @OptionGroup var client: ClientOptions
        @Option(help: "Model name.") var model: String
        @Option(help: "Version number or alias (default: the latest).") var version: String?
        @Option(help: ArgumentHelp("Rows: a CSV file with a header row, or - for stdin.", valueName: "file.csv|-"))
        var data: String
        @OptionGroup var csv: CSVInputOptions
        @Option(help: "The label column to ignore, when the file has one.") var label: String?
        @OptionGroup var missingValues: MissingValueOptions
        @Flag(help: "Also print per-class probabilities (decision scores for svm models).") var probabilities = false
        @Option(help: "Rows per call.") var batchRows: Int = 8192

        func validate() throws {
            _ = try modelRef(self.model, self.version)
            guard self.batchRows > 0 else { throw ValidationError("--batch-rows must be positive") }
        }

        func run() async throws {
            try await self.client.run("predict") { client in
                var ref = try modelRef(self.model, self.version)
                let info = try await client.describeModel(ref, options: self.client.callOptions)
                ref.selector = .version(info.version)  // every batch on the same version, even if an alias moves
                if let preprocessing = info.preprocessing {
                    return try await self.predictTable(client, ref, preprocessing)
                }
                let input = try DataInput.features(
                    path: self.data,
                    model: info,
                    labelColumn: self.label,
                    format: self.csv.format
                )
                try await self.predictInBatches(client, rows: input.rows) { range in
                    V1.PredictRequest(
                        model: ref,
                        inputs: V1.Tensor(input, rows: range),
                        includeProbabilities: self.probabilities
                    )
                }
            }
        }

        /// Predicts for a model with preprocessing: the CSV as a typed table (its columns matched by
        /// name on the server, a label or other extra column ignored).
        private func predictTable(
            _ client: ModelwireClient,
            _ ref: V1.ModelRef,
            _ preprocessing: V1.Preprocessing
        ) async throws {
            let table = try TableInput.modelTable(
                path: self.data,
                format: self.csv.format,
                missing: self.missingValues.tokens,
                preprocessing: preprocessing
            )
            try await self.predictInBatches(client, rows: table.rowCount) { range in
                V1.PredictRequest(model: ref, includeProbabilities: self.probabilities, table: table.rows(range))
            }
        }

        /// Sends `rows` rows in calls of `--batch-rows`, merges the answers and prints them.
        private func predictInBatches(
            _ client: ModelwireClient,
            rows: Int,
            request: (Range<Int>) -> V1.PredictRequest
        ) async throws {
            var merged = V1.PredictResponse()
            var scores: [Float] = []
            var start = 0
            while start < rows {
                let end = min(rows, start + self.batchRows)
                let response = try await client.predict(request(start..<end), options: self.client.callOptions)
                if start == 0 {
                    merged = response
                    merged.classIds = []
                    merged.values = []
                }
                merged.classIds += response.classIds
                merged.values += response.values
                scores += response.scores?.values ?? []
                start = end
            }
            self.print(merged, scores: scores, rows: rows)
        }

        func print(_ r: V1.PredictResponse, scores: [Float], rows: Int) {
            let regression = r.classIds.isEmpty && !r.values.isEmpty
            let labels = r.classIds.map { Int($0) < r.classNames.count ? r.classNames[Int($0)] : String($0) }
            // Scores per row as the server sent them: one per class, or one decision score for a
            // binary SVM (for the second class), never assumed from the class count.
            let columns = Int(r.scores?.columns ?? 0)
            let scoreNames = columns == r.classNames.count ? r.classNames : Array(r.classNames.suffix(columns))
            if self.client.json {
                var fields: [(String, JSON)] = [("model", .string(r.model)), ("version", .uint(UInt64(r.version)))]
                if regression {
                    fields.append(("values", .floats(r.values)))
                } else {
                    fields.append(("labels", .strings(labels)))
                    fields.append(("class_names", .strings(r.classNames)))
                    if self.probabilities, columns > 0 {
                        fields.append(
                            (
                                "probabilities",
                                .array(
                                    (0..<scores.count / columns).map {
                                        JSON.floats(scores[$0 * columns..<($0 + 1) * columns])
                                    }
                                )
                            )
                        )
                        fields.append(("scores_are_probabilities", .bool(r.scoresAreProbabilities)))
                    }
                }
                self.client.emit(.object(fields))
                return
            }
            var lines: [String] = []
            defer { if !lines.isEmpty { Output.line(lines.joined(separator: "\n")) } }
            if regression {
                for value in r.values { lines.append("\(value)") }
                return
            }
            if self.probabilities, columns > 0, scores.count == rows * columns {
                lines.append(
                    (["label"] + scoreNames.map { (r.scoresAreProbabilities ? "p(" : "score(") + $0 + ")" })
                        .joined(separator: "\t")
                )
                for (row, label) in labels.enumerated() {
                    lines.append(
                        ([label] + scores[row * columns..<(row + 1) * columns].map { Output.fixed($0) })
                            .joined(separator: "\t")
                    )
                }
            } else {
                for label in labels { lines.append(label) }
            }
        }
    }
}
