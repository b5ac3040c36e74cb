import ArgumentParser
import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireData
import ModelwireDataWire

extension ModelwireCommand {
    /// `modelwire explain`: per-row feature attributions of a model's predictions.
    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Explain a model's predictions: per-row feature attributions, as a sorted bar table.",
            discussion: """
                Dense nets: integrated gradients of the explained class's probability (regression: the value) \
                from the training mean, --steps intervals (trapezoid rule); the completeness error \
                |Σ attributions − (f(x) − f(baseline))| is printed per row, and a row above 1% of \
                |f(x) − f(baseline)| is integrated again with twice the steps, up to 4096. Linear models: exact w·(x − mean) \
                contributions to the class's logit (logistic) or decision score (svm). Trees, forests and gbdt: \
                exact TreeSHAP from the training rows stored per node, against E[f] (gbdt: the raw score). \
                Int8 models and imported trees are refused. Columns are matched by the model's feature names; \
                a label column is ignored. At most 1024 rows per call.
                """
        )

        @OptionGroup var client: ClientOptions
        @Option(help: "Model name.") var model: String
        @Option(help: "Version number or alias (default: the latest).") var version: String?
        @Option(help: ArgumentHelp("Rows: a CSV file with a header row, or - for stdin.", valueName: "file.csv|-"))
        var data: String
        @OptionGroup var csv: CSVInputOptions
        @OptionGroup var missingValues: MissingValueOptions
        @Option(help: "The label column to ignore, when the file has one.") var label: String?
        @Option(
            help: ArgumentHelp(
                "Rows to explain, 0-based data-row indices separated by commas (default: every row).",
                valueName: "i,j,..."
            )
        )
        var rows: String?
        @Option(help: ArgumentHelp("ig, linear or treeshap (default: the model family's own).", valueName: "method"))
        var method: String?
        @Option(
            name: .customLong("class"),
            help: ArgumentHelp("The class to explain (default: each row's predicted class).", valueName: "name")
        )
        var targetClass: String?
        @Option(help: "Integrated gradients' path steps (default 64, at most 4096).") var steps: UInt32?
        @Option(help: "Print only the N largest attributions per row (default: all).") var top: Int?

        func validate() throws {
            _ = try modelRef(self.model, self.version)
            _ = try self.rowIndices()
            _ = try self.wireMethod()
            if let top, top <= 0 { throw ValidationError("--top must be positive") }
        }

        func run() async throws {
            try await self.client.run("explain") { client in
                let ref = try modelRef(self.model, self.version)
                let info = try await client.describeModel(ref, options: self.client.callOptions)
                if let preprocessing = info.preprocessing {
                    return try await self.explainTable(client, info, preprocessing)
                }
                let input = try DataInput.features(
                    path: self.data,
                    model: info,
                    labelColumn: self.label,
                    format: self.csv.format
                )
                let indices = try self.rowIndices() ?? Array(0..<input.rows)
                if let bad = indices.first(where: { $0 >= input.rows }) {
                    throw CLIError("--rows: row \(bad) is out of range (\(self.data) has \(input.rows) rows)")
                }
                let columns = input.columns
                var values: [Float] = []
                for r in indices { values += input.values[r * columns..<(r + 1) * columns] }
                let response = try await client.explain(
                    V1.ExplainRequest(
                        model: V1.ModelRef(name: info.name, selector: .version(info.version)),
                        data: .inlineData(
                            V1.Dataset(
                                featureNames: input.names,
                                features: V1.Tensor(columns: UInt32(columns), values: values)
                            )
                        ),
                        method: try self.wireMethod(),
                        targetClass: self.targetClass ?? "",
                        steps: self.steps ?? 0
                    ),
                    options: self.client.callOptions
                )
                self.show(response, indices: indices)
            }
        }

        /// Shows the attributions; the server numbered the rows sent, they are reported by their index in the file.
        private func show(_ response: V1.ExplainResponse, indices: [Int]) {
            var explanations = response.explanations
            for i in explanations.indices { explanations[i].row = UInt32(indices[Int(explanations[i].row)]) }
            if self.client.json {
                self.client.emit(Shapes.explanation(response, rows: explanations))
            } else {
                Output.line(Report.explanation(response, rows: explanations, top: self.top))
            }
        }

        /// A model with preprocessing explains raw rows: the CSV as a typed table, attributions per raw column.
        private func explainTable(
            _ client: ModelwireClient,
            _ info: V1.ModelVersionInfo,
            _ preprocessing: V1.Preprocessing
        ) async throws {
            let table = try TableInput.modelTable(
                path: self.data,
                format: self.csv.format,
                missing: self.missingValues.tokens,
                preprocessing: preprocessing
            )
            let indices = try self.rowIndices() ?? Array(0..<table.rowCount)
            if let bad = indices.first(where: { $0 >= table.rowCount }) {
                throw CLIError("--rows: row \(bad) is out of range (\(self.data) has \(table.rowCount) rows)")
            }
            let request = try self.request(info, table: table, indices: indices)
            // The server reports rows by their index in the table sent, the whole file.
            let response = try await client.explain(request, options: self.client.callOptions)
            self.show(response, indices: Array(0..<table.rowCount))
        }

        private func request(_ info: V1.ModelVersionInfo, table: V1.Table, indices: [Int]) throws -> V1.ExplainRequest {
            V1.ExplainRequest(
                model: V1.ModelRef(name: info.name, selector: .version(info.version)),
                data: .table(V1.LabelledTable(table: table)),
                rows: indices.map { UInt32($0) },
                method: try self.wireMethod(),
                targetClass: self.targetClass ?? "",
                steps: self.steps ?? 0
            )
        }

        private func rowIndices() throws -> [Int]? {
            guard let rows else { return nil }
            return try rows.split(separator: ",").map { part in
                guard let i = Int(part.trimmingCharacters(in: .whitespaces)), i >= 0 else {
                    throw ValidationError("--rows: \"\(part)\" is not a row index (0, 1, ...)")
                }
                return i
            }
        }

        private func wireMethod() throws -> V1.ExplainMethod {
            switch self.method {
            case nil: return .auto
            case "ig"?, "integrated-gradients"?: return .integratedGradients
            case "linear"?: return .linear
            case "treeshap"?, "tree-shap"?: return .treeShap
            case let other?: throw ValidationError("--method: \"\(other)\" is not ig, linear or treeshap")
            }
        }
    }
}

extension Shapes {
    /// `modelwire explain --json`.
    static func explanation(_ r: V1.ExplainResponse, rows: [V1.RowExplanation]) -> JSON {
        .object([
            ("model", .string(r.model)), ("version", .uint(UInt64(r.version))),
            ("method", .string(Report.methodName(r.method))), ("output", .string(r.output)),
            ("features", .strings(r.featureNames)), ("baseline", .floats(r.baseline)),
            ("encoded_features", .strings(r.encodedFeatureNames)),
            (
                "rows",
                .array(
                    rows.map { e in
                        .object([
                            ("row", .uint(UInt64(e.row))), ("class", .string(e.explainedClass)),
                            ("value", .float(e.value)), ("baseline_value", .float(e.baselineValue)),
                            ("completeness_error", .float(e.completenessError)), ("steps", .uint(UInt64(e.steps))),
                            ("attributions", .floats(e.attributions)),
                        ])
                    }
                )
            ),
        ])
    }
}

extension Report {
    /// The method's CLI name.
    static func methodName(_ method: V1.ExplainMethod) -> String {
        switch method {
        case .integratedGradients: "ig"
        case .linear: "linear"
        case .treeShap: "treeshap"
        default: "\(method.rawValue)"
        }
    }

    /// Per row: a header line, then each column's attribution, largest magnitude first, with a bar
    /// (`+` raises f, `-` lowers it) scaled to the row's largest magnitude.
    static func explanation(_ r: V1.ExplainResponse, rows: [V1.RowExplanation], top: Int?) -> String {
        let width = 30
        let nameWidth = min(24, r.featureNames.map(\.count).max() ?? 0)
        var lines = ["model \(r.model) version \(r.version), \(methodName(r.method)) of the \(r.output)"]
        for e in rows {
            lines.append("")
            let of = e.explainedClass.isEmpty ? "" : " class \(e.explainedClass)"
            let steps = e.steps > 0 ? ", \(e.steps) steps" : ""
            lines.append(
                "row \(e.row)\(of): f(x) = \(format(e.value)), f(baseline) = \(format(e.baselineValue)), "
                    + "completeness error \(String(format: "%.2g", Double(e.completenessError)))\(steps)"
            )
            let order = e.attributions.indices.sorted { abs(e.attributions[$0]) > abs(e.attributions[$1]) }
            let largest = order.first.map { abs(e.attributions[$0]) } ?? 0
            for i in order.prefix(top ?? order.count) {
                let a = e.attributions[i]
                let n = largest > 0 ? Int((abs(a) / largest * Float(width)).rounded()) : 0
                let name = i < r.featureNames.count ? r.featureNames[i] : "f\(i)"
                let padded = name.padding(toLength: max(nameWidth, 1), withPad: " ", startingAt: 0)
                lines.append(
                    "  \(padded) \(String(format: "%+.6f", Double(a))) \(String(repeating: a < 0 ? "-" : "+", count: n))"
                )
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func format(_ v: Float) -> String { String(format: "%.6g", Double(v)) }
}
