import ArgumentParser
import ModelwireClient
import ModelwireCodec
import ModelwireData

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ModelwireCommand {
    /// `modelwire models ...`: the model repository.
    struct Models: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List, describe, delete, alias, export and import models.",
            subcommands: [List.self, Describe.self, Delete.self, Alias.self, Export.self, Import.self],
            defaultSubcommand: List.self
        )

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List every model with its versions and aliases.")
            @OptionGroup var client: ClientOptions

            func run() async throws {
                try await self.client.run("models list") { client in
                    let models = try await client.listModels(options: self.client.callOptions)
                    if self.client.json {
                        self.client.emit(
                            .object([
                                (
                                    "models",
                                    .array(
                                        models.map { m in
                                            .object([
                                                ("name", .string(m.name)),
                                                (
                                                    "aliases",
                                                    .object(m.aliases.map { ($0.name, JSON.uint(UInt64($0.version))) })
                                                ),
                                                ("versions", .array(m.versions.map(Shapes.version))),
                                            ])
                                        }
                                    )
                                )
                            ])
                        )
                        return
                    }
                    guard !models.isEmpty else {
                        Output.line("no models")
                        return
                    }
                    var rows: [[String]] = []
                    for m in models {
                        for v in m.versions {
                            let metric: String =
                                switch v.trainingMetrics?.kind {
                                case .classification(let c): "acc \(Output.fixed(c.accuracy))"
                                case .regression(let r): "r2 \(Output.fixed(r.r2))"
                                case nil: "-"
                                }
                            rows.append([
                                m.name, String(v.version), Names.task(v.task), Names.family(v.spec), metric,
                                Output.date(v.createdUnixMs), v.aliases.joined(separator: ","),
                            ])
                        }
                    }
                    Output.line(
                        Output.table(["MODEL", "VERSION", "TASK", "FAMILY", "TRAINING", "CREATED", "ALIASES"], rows)
                    )
                }
            }
        }

        struct Describe: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show one version's metadata.")
            @OptionGroup var client: ClientOptions
            @Option(help: "Model name.") var model: String
            @Option(help: "Version number or alias (default: the latest).") var version: String?

            func validate() throws { _ = try modelRef(self.model, self.version) }

            func run() async throws {
                try await self.client.run("models describe") { client in
                    let v = try await client.describeModel(
                        try modelRef(self.model, self.version),
                        options: self.client.callOptions
                    )
                    if self.client.json {
                        self.client.emit(Shapes.version(v))
                        return
                    }
                    var lines = [
                        "model       \(v.name)", "version     \(v.version)", "task        \(Names.task(v.task))",
                        "family      \(Names.family(v.spec))", "inputs      \(v.inputColumns) columns",
                        "parameters  \(v.parameterCount)", "file        \(Output.bytes(v.fileBytes))",
                        "created     \(Output.date(v.createdUnixMs))",
                        "aliases     \(v.aliases.isEmpty ? "-" : v.aliases.joined(separator: ", "))",
                    ]
                    if !v.classNames.isEmpty { lines.append("classes     \(v.classNames.joined(separator: ", "))") }
                    if !v.featureNames.isEmpty {
                        let shown = v.featureNames.prefix(8).joined(separator: ", ")
                        lines.append(
                            "features    \(shown)\(v.featureNames.count > 8 ? ", ... (\(v.featureNames.count))" : "")"
                        )
                    }
                    if let p = v.preprocessing {
                        let columns = p.columns.map { column in
                            if case .categorical(let c)? = column.kind {
                                return "\(column.name) (\(c.categories.count) categories\(c.other ? " + other" : ""))"
                            }
                            return column.name
                        }
                        lines.append("raw columns \(columns.joined(separator: ", "))")
                    }
                    if let metrics = v.trainingMetrics { lines.append("training    \(Report.brief(metrics))") }
                    if let t = v.transform {
                        let settings = t.settings.map { "\($0.name) \($0.value)" }.joined(separator: ", ")
                        lines.append("made by     \(t.kind) of \(t.sourceModel) v\(t.sourceVersion) (\(settings))")
                        if let report = t.report { lines.append(TransformRows.table(report)) }
                    }
                    Output.line(lines.joined(separator: "\n"))
                }
            }
        }

        struct Delete: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Delete one version, or the whole model when no --version is given."
            )
            @OptionGroup var client: ClientOptions
            @Option(help: "Model name.") var model: String
            @Option(help: "The version to delete (default: every version).") var version: UInt32?

            func run() async throws {
                try await self.client.run("models delete") { client in
                    let deleted = try await client.deleteModel(
                        name: self.model,
                        version: self.version,
                        options: self.client.callOptions
                    )
                    if self.client.json {
                        self.client.emit(
                            .object([("model", .string(self.model)), ("deleted_versions", .uints(deleted))])
                        )
                    } else {
                        Output.line(
                            "deleted \(self.model) version\(deleted.count == 1 ? "" : "s") \(deleted.map(String.init).joined(separator: ", "))"
                        )
                    }
                }
            }
        }

        struct Alias: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Point an alias (e.g. production) at a version; rollback is moving it back."
            )
            @OptionGroup var client: ClientOptions
            @Option(help: "Model name.") var model: String
            @Option(help: "Alias name.") var alias: String
            @Option(help: "The version the alias points to.") var version: UInt32

            func run() async throws {
                try await self.client.run("models alias") { client in
                    let previous = try await client.setAlias(
                        model: self.model,
                        alias: self.alias,
                        version: self.version,
                        options: self.client.callOptions
                    )
                    if self.client.json {
                        self.client.emit(
                            .object([
                                ("model", .string(self.model)), ("alias", .string(self.alias)),
                                ("version", .uint(UInt64(self.version))),
                                ("previous_version", previous.map { .uint(UInt64($0)) } ?? .null),
                            ])
                        )
                    } else {
                        let from = previous.map { " (was version \($0))" } ?? ""
                        Output.line("\(self.model)@\(self.alias) -> version \(self.version)\(from)")
                    }
                }
            }
        }

        struct Export: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Write a version's model file (a modelwire.v1.ModelFile) or an ONNX model to disk."
            )
            /// What `--format` writes.
            enum Format: String, ExpressibleByArgument, CaseIterable {
                case modelFile = "model-file"
                case onnx
            }
            @OptionGroup var client: ClientOptions
            @Option(help: "Model name.") var model: String
            @Option(help: "Version number or alias (default: the latest).") var version: String?
            @Option(name: [.short, .long], help: "The file to write.") var output: String
            @Option(help: "model-file (the stored modelwire.v1.ModelFile) or onnx (an ONNX graph onnxruntime runs).")
            var format: Format = .modelFile

            func validate() throws { _ = try modelRef(self.model, self.version) }

            func run() async throws {
                try await self.client.run("models export") { client in
                    let reference = try modelRef(self.model, self.version)
                    let r =
                        self.format == .onnx
                        ? try await client.exportOnnx(reference, options: self.client.callOptions)
                        : try await client.exportModel(reference, options: self.client.callOptions)
                    let bytes = self.format == .onnx ? r.onnxModel : r.modelFile
                    try writeFile(self.output, bytes)
                    if self.client.json {
                        self.client.emit(
                            .object([
                                ("model", .string(r.name)), ("version", .uint(UInt64(r.version))),
                                ("format", .string(self.format.rawValue)), ("bytes", .uint(UInt64(bytes.count))),
                                ("path", .string(self.output)),
                            ])
                        )
                    } else {
                        Output.line(
                            "wrote \(r.name) version \(r.version) to \(self.output) (\(Output.bytes(UInt64(bytes.count))))"
                        )
                    }
                }
            }
        }

        struct Import: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Store a model file, or a model converted from ONNX, as the next version of a model."
            )
            @OptionGroup var client: ClientOptions
            @Option(name: [.short, .long], help: "The model file to read.") var file: String?
            @Option(help: "An ONNX model to convert (dense nets, linear models, trees; see docs/cli.md).")
            var onnx: String?
            @Option(help: "Model name (default: the name inside the model file; required with --onnx).")
            var model: String = ""

            func validate() throws {
                guard (self.file == nil) != (self.onnx == nil) else {
                    throw ValidationError("give exactly one of --file and --onnx")
                }
                if self.onnx != nil, self.model.isEmpty { throw ValidationError("--onnx needs --model") }
            }

            func run() async throws {
                try await self.client.run("models import") { client in
                    let path = self.onnx ?? self.file ?? "-"
                    let bytes = try readFile(path)
                    let v =
                        self.onnx != nil
                        ? try await client.importOnnx(
                            name: self.model,
                            onnxModel: bytes,
                            options: self.client.callOptions
                        )
                        : try await client.importModel(
                            name: self.model,
                            modelFile: bytes,
                            options: self.client.callOptions
                        )
                    if self.client.json {
                        self.client.emit(Shapes.version(v))
                    } else {
                        Output.line("imported \(path) as \(v.name) version \(v.version)")
                    }
                }
            }
        }
    }
}

/// The bytes of a file, or of stdin for `-`.
/// - Throws: `CLIError` with the reason: `cannot read nope.csv: no such file` (or `permission denied`, `is a directory`, ...).
func readFile(_ path: String) throws -> [UInt8] {
    if path == "-" { return try DataInput.standardInput() }
    do { return try readFileContents(path) } catch { throw CLIError(error.description) }
}

/// Writes a file.
/// - Throws: `CLIError` with the reason: `cannot write out.bin: permission denied` (or `no such file`, `is a directory`, ...).
func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    guard let file = fopen(path, "wb") else {
        throw CLIError("cannot write \(path): \(FileReadError.reason(errno: errno))")
    }
    defer { fclose(file) }
    guard bytes.isEmpty || fwrite(bytes, 1, bytes.count, file) == bytes.count else {
        throw CLIError("short write to \(path)")
    }
}
