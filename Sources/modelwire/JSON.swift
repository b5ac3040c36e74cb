import ModelwireCodec

/// A JSON value with ordered object keys, so every `--json` shape prints in its documented order.
enum JSON: Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case float(Float)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    /// Compact, one line.
    var rendered: String {
        var out = ""
        self.render(into: &out)
        return out
    }

    private func render(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .uint(let u): out += String(u)
        case .float(let f): out += f.isFinite ? "\(f)" : "null"
        case .double(let d): out += d.isFinite ? "\(d)" : "null"
        case .string(let s): Self.quote(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.render(into: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (i, (key, value)) in fields.enumerated() {
                if i > 0 { out += "," }
                Self.quote(key, into: &out)
                out += ":"
                value.render(into: &out)
            }
            out += "}"
        }
    }

    private static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

extension JSON {
    static func optional(_ value: Float?) -> JSON { value.map(JSON.float) ?? .null }
    static func strings(_ values: [String]) -> JSON { .array(values.map(JSON.string)) }
    static func uints<T: BinaryInteger>(_ values: [T]) -> JSON { .array(values.map { .uint(UInt64($0)) }) }
    static func floats(_ values: some Sequence<Float>) -> JSON { .array(values.map(JSON.float)) }
}

/// The JSON shapes shared by several commands (documented in docs/cli.md).
enum Shapes {
    /// `[{"feature", "mean", "std"}]` in the model's feature order.
    static func importances(_ importances: [V1.FeatureImportance]) -> JSON {
        .array(
            importances.map {
                .object([("feature", .string($0.feature)), ("mean", .float($0.mean)), ("std", .float($0.std))])
            }
        )
    }

    static func averages(_ m: V1.ClassMetrics?) -> JSON {
        guard let m else { return .null }
        return .object([("precision", .float(m.precision)), ("recall", .float(m.recall)), ("f1", .float(m.f1))])
    }

    /// An Evaluation: classification or regression metrics.
    static func evaluation(_ evaluation: V1.Evaluation?) -> JSON {
        guard let evaluation else { return .null }
        switch evaluation.kind {
        case .classification(let c):
            let classes = Int(c.confusion?.classes ?? 0)
            let counts = c.confusion?.counts ?? []
            let matrix: [JSON] =
                classes > 0 && counts.count == classes * classes
                ? (0..<classes).map { r in JSON.uints(Array(counts[r * classes..<(r + 1) * classes])) } : []
            return .object([
                ("task", .string("classification")),
                ("rows", .uint(evaluation.rows)),
                ("accuracy", .float(c.accuracy)),
                ("log_loss", .optional(c.logLoss)),
                ("roc_auc_macro", .optional(c.rocAucMacro)),
                ("roc_auc_weighted", .optional(c.rocAucWeighted)),
                ("average_precision", .optional(c.averagePrecision)),
                ("macro", averages(c.macro)),
                ("weighted", averages(c.weighted)),
                (
                    "per_class",
                    .array(
                        c.perClass.map { m in
                            .object([
                                ("label", .string(m.label)), ("precision", .float(m.precision)),
                                ("recall", .float(m.recall)),
                                ("f1", .float(m.f1)), ("support", .uint(m.support)),
                            ])
                        }
                    )
                ),
                ("labels", .strings(c.perClass.map(\.label))),
                ("confusion_matrix", .array(matrix)),
            ])
        case .regression(let r):
            return .object([
                ("task", .string("regression")), ("rows", .uint(evaluation.rows)), ("mse", .float(r.mse)),
                ("mae", .float(r.mae)), ("r2", .float(r.r2)),
            ])
        case nil:
            return .object([("rows", .uint(evaluation.rows))])
        }
    }

    static func progress(_ p: V1.TrainProgress, jobID: String) -> JSON {
        .object([
            ("event", .string("progress")), ("job_id", .string(jobID)),
            ("epoch", .uint(UInt64(p.epoch))), ("epochs", .uint(UInt64(p.epochs))),
            ("batch", .uint(UInt64(p.batch))), ("batches", .uint(UInt64(p.batches))),
            ("loss", .float(p.loss)), ("accuracy", .float(p.accuracy)),
            ("validation_loss", .optional(p.validationLoss)), ("validation_accuracy", .optional(p.validationAccuracy)),
            ("samples_per_second", .float(p.samplesPerSecond)), ("eta_seconds", .float(p.etaSeconds)),
            ("epoch_end", .bool(p.epochEnd)),
        ])
    }

    static func result(_ r: V1.TrainResult, jobID: String) -> JSON {
        .object(
            [
                ("event", .string("result")), ("job_id", .string(jobID)),
                ("model", .string(r.model)), ("version", .uint(UInt64(r.version))),
                ("metrics", evaluation(r.metrics)),
                ("epochs_run", .uint(UInt64(r.epochsRun))), ("early_stopped", .bool(r.earlyStopped)),
                ("seed", .uint(r.seed)), ("duration_seconds", .float(r.durationSeconds)),
            ] + (r.report.map { [("report", report($0))] } ?? [])
        )
    }

    /// A transform's report: `{"source": MEASUREMENT, "result": MEASUREMENT, "notes": [...]}`.
    static func report(_ r: V1.TransformReport) -> JSON {
        func side(_ m: V1.TransformMeasurement?) -> JSON {
            guard let m else { return .null }
            return .object([
                ("version", .uint(UInt64(m.version))), ("file_bytes", .uint(m.fileBytes)),
                ("parameters", .uint(m.parameters)), ("nonzero_parameters", .uint(m.nonzeroParameters)),
                ("latency_1_row_us", .double(m.latency1RowUs)), ("rows_per_second_1024", .double(m.rowsPerSecond1024)),
                ("evaluation", evaluation(m.evaluation)),
            ])
        }
        return .object([("source", side(r.source)), ("result", side(r.result)), ("notes", .strings(r.notes))])
    }

    static func spec(_ spec: V1.ModelSpec?) -> JSON {
        guard let spec else { return .null }
        var fields: [(String, JSON)] = [("task", .string(Names.task(spec.task)))]
        switch spec.family {
        case .dense(let d):
            fields.append(("family", .string("mlp")))
            fields.append(("hidden", .uints(d.hidden.map(\.units))))
            fields.append(("activations", .strings(d.hidden.map { $0.activation.description })))
        case .logistic: fields.append(("family", .string("logistic")))
        case .linearSvm: fields.append(("family", .string("svm")))
        case .tree(let t):
            fields.append(("family", .string("tree")))
            fields.append(("criterion", .string(t.criterion.description)))
            fields.append(("max_depth", .uint(UInt64(t.maxDepth))))
        case .forest(let f):
            fields.append(("family", .string("forest")))
            fields.append(("trees", .uint(UInt64(f.trees == 0 ? 100 : f.trees))))
        case .gbdt(let g):
            fields.append(("family", .string("gbdt")))
            fields.append(("iterations", .uint(UInt64(g.iterations == 0 ? 100 : g.iterations))))
        case nil: fields.append(("family", .null))
        }
        return .object(fields)
    }

    static func version(_ v: V1.ModelVersionInfo) -> JSON {
        .object([
            ("name", .string(v.name)), ("version", .uint(UInt64(v.version))), ("task", .string(Names.task(v.task))),
            ("spec", spec(v.spec)), ("input_columns", .uint(UInt64(v.inputColumns))),
            ("feature_names", .strings(v.featureNames)), ("class_names", .strings(v.classNames)),
            ("created_unix_ms", .uint(v.createdUnixMs)), ("parameter_count", .uint(v.parameterCount)),
            ("file_bytes", .uint(v.fileBytes)), ("aliases", .strings(v.aliases)),
            ("training_metrics", evaluation(v.trainingMetrics)), ("transform", transform(v.transform)),
            ("preprocessing", preprocessing(v.preprocessing)),
        ])
    }

    /// A model's raw input columns: `{"encoding", "unknown_categories", "columns": [{"name", "kind",
    /// "fill" | "categories" + "other", "indicator"}]}`; null for a model of numeric rows.
    static func preprocessing(_ p: V1.Preprocessing?) -> JSON {
        guard let p else { return .null }
        return .object([
            ("encoding", .string(p.encoding == .ordinal ? "ordinal" : "one-hot")),
            ("unknown_categories", .string(p.unknownCategories == .error ? "error" : "ignore")),
            (
                "columns",
                .array(
                    p.columns.map { column in
                        var fields: [(String, JSON)] = [("name", .string(column.name))]
                        switch column.kind {
                        case .numeric(let n)?: fields += [("kind", .string("numeric")), ("fill", .float(n.fill))]
                        case .categorical(let c)?:
                            fields += [
                                ("kind", .string("categorical")), ("categories", .strings(c.categories)),
                                ("other", .bool(c.other)), ("fill", .string(c.fill)),
                            ]
                        case nil: fields.append(("kind", .null))
                        }
                        fields.append(("indicator", .bool(column.indicator)))
                        return .object(fields)
                    }
                )
            ),
        ])
    }

    /// How a transform made a version: `{"kind", "source_model", "source_version", "settings": {...}, "report"}`.
    static func transform(_ t: V1.TransformRecord?) -> JSON {
        guard let t else { return .null }
        return .object([
            ("kind", .string(t.kind)), ("source_model", .string(t.sourceModel)),
            ("source_version", .uint(UInt64(t.sourceVersion))),
            ("settings", .object(t.settings.map { ($0.name, .string($0.value)) })),
            ("report", t.report.map(report) ?? .null),
        ])
    }

    static func job(_ j: V1.Job) -> JSON {
        .object([
            ("id", .string(j.id)), ("model", .string(j.model)), ("state", .string(j.state.description)),
            ("last_progress", j.lastProgress.map { progress($0, jobID: j.id) } ?? .null),
            ("result", j.result.map { result($0, jobID: j.id) } ?? .null),
            (
                "error",
                j.error.map { .object([("code", .string(Names.status($0.code))), ("message", .string($0.message))]) }
                    ?? .null
            ),
            ("created_unix_ms", .uint(j.createdUnixMs)), ("started_unix_ms", .uint(j.startedUnixMs)),
            ("finished_unix_ms", .uint(j.finishedUnixMs)),
        ])
    }

    static func dataset(_ d: V1.DatasetInfo) -> JSON {
        .object([
            ("name", .string(d.name)), ("rows", .uint(d.rows)), ("columns", .uint(UInt64(d.columns))),
            ("feature_names", .strings(d.featureNames)), ("class_names", .strings(d.classNames)),
            ("size_bytes", .uint(d.sizeBytes)), ("created_unix_ms", .uint(d.createdUnixMs)),
            ("label_column", d.labelColumn.isEmpty ? .null : .string(d.labelColumn)),
        ])
    }
}

/// Names as the CLI prints them.
enum Names {
    /// The snake_case name of a status code, as in PROTOCOL.md §9 (lower case).
    static func status(_ code: V1.StatusCode) -> String {
        let names = [
            "ok", "cancelled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists",
            "permission_denied", "resource_exhausted", "failed_precondition", "aborted", "out_of_range",
            "unimplemented", "internal", "unavailable", "data_loss", "unauthenticated",
        ]
        let raw = Int(code.rawValue)
        return names.indices.contains(raw) ? names[raw] : "code_\(raw)"
    }

    static func task(_ task: V1.Task) -> String { task == .regression ? "regression" : "classification" }

    static func family(_ spec: V1.ModelSpec?) -> String {
        switch spec?.family {
        case .dense(let d):
            d.hidden.isEmpty ? "mlp" : "mlp(\(d.hidden.map { String($0.units) }.joined(separator: ",")))"
        case .logistic: "logistic"
        case .linearSvm: "svm"
        case .tree(let t): t.maxDepth > 0 ? "tree(depth \(t.maxDepth))" : "tree"
        case .forest(let f): "forest(\(f.trees == 0 ? 100 : f.trees) trees)"
        case .gbdt(let g): "gbdt(\(g.iterations == 0 ? 100 : g.iterations) iterations)"
        case nil: "-"
        }
    }
}
