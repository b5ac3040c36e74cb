import ArgumentParser
import ModelwireCodec
import ModelwireData
import Testing

@testable import modelwire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The CLI's pure parts: argument hoisting, predict's column selection, and the fixed JSON shapes.
@Suite struct CLITests {
    @Test("shared flags before the subcommand move after it")
    func hoisting() {
        #expect(
            ModelwireCommand.hoistingSharedOptions(["--server", "h:1", "--json", "models", "list"])
                == ["models", "list", "--server", "h:1", "--json"]
        )
        #expect(ModelwireCommand.hoistingSharedOptions(["--server=h:1", "health"]) == ["health", "--server=h:1"])
        #expect(
            ModelwireCommand.hoistingSharedOptions(["predict", "--json", "--model", "m"])
                == ["predict", "--json", "--model", "m"]
        )
        #expect(ModelwireCommand.hoistingSharedOptions(["--version"]) == ["--version"])
    }

    @Test("a command group with shared flags after it runs its list command: models, jobs, datasets")
    func groupsTakeSharedFlags() throws {
        for group in ["models", "jobs", "datasets"] {
            let arguments = ModelwireCommand.hoistingSharedOptions(["--server", "h:1", "--json", group])
            let command = try ModelwireCommand.parseAsRoot(arguments)
            #expect("\(type(of: command))" == "List", "\(group) ran \(type(of: command))")
        }
        let models = try ModelwireCommand.parseAsRoot(
            ModelwireCommand.hoistingSharedOptions(["--server", "h:1", "models"])
        )
        #expect((models as? ModelwireCommand.Models.List)?.client.server == "h:1")
    }

    @Test("models import takes exactly one of --file and --onnx; --onnx needs --model")
    func importSources() throws {
        let onnx = try ModelwireCommand.Models.Import.parse(["--onnx", "m.onnx", "--model", "m"])
        #expect(onnx.onnx == "m.onnx" && onnx.file == nil)
        #expect(throws: Never.self) { try ModelwireCommand.Models.Import.parse(["-f", "m.pb"]) }
        for arguments in [
            ["--onnx", "m.onnx"], ["-f", "m.pb", "--onnx", "m.onnx", "--model", "m"], ["--model", "m"],
        ] {
            #expect(throws: (any Error).self, "\(arguments)") { try ModelwireCommand.Models.Import.parse(arguments) }
        }
        let export = try ModelwireCommand.Models.Export.parse(["--model", "m", "-o", "m.onnx", "--format", "onnx"])
        #expect(export.format == .onnx)
        #expect(try ModelwireCommand.Models.Export.parse(["--model", "m", "-o", "m.pb"]).format == .modelFile)
        #expect(throws: (any Error).self) {
            try ModelwireCommand.Models.Export.parse(["--model", "m", "-o", "x", "--format", "tflite"])
        }
    }

    @Test("train refuses flags its family or task would ignore")
    func trainFlagsFitTheFamily() throws {
        let base = ["--model", "m", "--data", "x.csv"]
        for extra in [
            ["--family", "mlp", "--max-depth", "3"], ["--family", "tree", "--epochs", "5"],
            ["--family", "logistic", "--hidden", "8"], ["--family", "tree", "--trees", "10"],
            ["--family", "tree", "--task", "regression", "--criterion", "gini"],
            ["--family", "tree", "--criterion", "mse"],
        ] {
            #expect(throws: (any Error).self, "\(extra)") { try ModelwireCommand.Train.parse(base + extra) }
        }
        for extra in [
            ["--family", "tree", "--max-depth", "3"], ["--family", "mlp", "--epochs", "5", "--hidden", "8"],
            ["--family", "tree", "--task", "regression", "--criterion", "mse"],
            ["--family", "forest", "--trees", "10"],
        ] {
            #expect(throws: Never.self, "\(extra)") { try ModelwireCommand.Train.parse(base + extra) }
        }
    }

    @Test("train's bad values name the flag (issue 16: trees, bins, C, a forest of 10^6 trees)")
    func trainBadValuesNameTheFlag() {
        let base = ["--model", "m", "--data", "x.csv"]
        let cases: [([String], String)] = [
            (["--family", "forest", "--trees", "0"], "--trees"),
            (["--family", "forest", "--trees", "1000000"], "--trees"),
            (["--family", "tree", "--max-bins", "1"], "--max-bins"),
            (["--family", "forest", "--max-bins", "65536"], "--max-bins"),
            (["--family", "svm", "-C", "0"], "-C"),
            (["--family", "logistic", "--C=-1"], "-C"),
            (["--family", "svm", "-C", "nan"], "-C"),
        ]
        for (extra, flag) in cases {
            do {
                _ = try ModelwireCommand.Train.parse(base + extra)
                Issue.record("\(extra) was accepted")
            } catch {
                let message = ModelwireCommand.Train.message(for: error)
                #expect(message.contains(flag), "\(extra): \(message)")
            }
        }
    }

    @Test("progress lines leave out the loss and accuracy a tree family does not report; '1 epoch'")
    func treeProgressAndSummary() {
        let tree = V1.TrainProgress(epoch: 1, epochs: 1, batch: 1, batches: 1, epochEnd: true)
        #expect(!ProgressView.plain(tree).contains("loss"))
        #expect(!ProgressView.plain(tree).contains("accuracy 0.0000"))
        let net = V1.TrainProgress(epoch: 2, epochs: 10, batch: 5, batches: 5, loss: 0.5, accuracy: 0.75)
        #expect(ProgressView.plain(net).contains("loss 0.5000 accuracy 0.7500"))
        let one = V1.TrainResult(model: "t", version: 1, epochsRun: 1, seed: 3, durationSeconds: 0.5)
        #expect(ProgressView.summary(one).contains("(1 epoch, seed 3)"))
        let many = V1.TrainResult(model: "n", version: 2, epochsRun: 20, seed: 3, durationSeconds: 0.5)
        #expect(ProgressView.summary(many).contains("(20 epochs, seed 3)"))
    }

    static let model = V1.ModelVersionInfo(name: "m", version: 2, inputColumns: 2, featureNames: ["a", "b"])

    @Test("predict picks the model's columns by name, in the model's order, ignoring the label")
    func columnsByName() throws {
        let (rows, values) = try DataInput.features(
            csv: "b,label,a\n2,x,1\n4,y,3\n",
            model: Self.model,
            labelColumn: nil
        )
        #expect(rows == 2)
        #expect(values == [1, 2, 3, 4])
    }

    @Test("without matching names: the model's column count, or one more whose label column is dropped")
    func columnsByCount() throws {
        let unnamed = V1.ModelVersionInfo(name: "m", version: 1, inputColumns: 2)
        #expect(try DataInput.features(csv: "x,y\n1,2\n", model: unnamed, labelColumn: nil).values == [1, 2])
        #expect(try DataInput.features(csv: "x,y,target\n1,2,c\n", model: unnamed, labelColumn: nil).values == [1, 2])
        #expect(try DataInput.features(csv: "t,x,y\nc,1,2\r\n\n", model: unnamed, labelColumn: "t").values == [1, 2])
        #expect(throws: CLIError.self) { try DataInput.features(csv: "x\n1\n", model: unnamed, labelColumn: nil) }
        #expect(throws: CLIError.self) { try DataInput.features(csv: "x,y\n1,nan\n", model: unnamed, labelColumn: nil) }
        #expect(throws: CLIError.self) { try DataInput.features(csv: "x,y\n", model: unnamed, labelColumn: nil) }
    }

    @Test("predict reads with ModelwireData's reader: semicolons, tabs, quotes, BOM, CRLF")
    func predictReadsRFC4180() throws {
        let semicolon = try DataInput.features(csv: "b;label;a\n2;x;1\n4;y;3\n", model: Self.model, labelColumn: nil)
        #expect(semicolon.values == [1, 2, 3, 4])
        let tab = try DataInput.features(csv: "\u{FEFF}a\tb\r\n\"1\"\t2\r\n", model: Self.model, labelColumn: nil)
        #expect(tab.values == [1, 2])
        let quoted = try DataInput.features(
            csv: "\" a \",\"b\",label\n1,2,\"x, y\"\n",
            model: Self.model,
            labelColumn: nil
        )
        #expect(quoted.values == [1, 2])
        let duplicate = #expect(throws: CLIError.self) {
            try DataInput.features(csv: "a,b,a\n1,2,3\n", model: Self.model, labelColumn: nil)
        }
        #expect(duplicate?.message.contains("'a' twice") == true)
        let ragged = #expect(throws: CLIError.self) {
            try DataInput.features(csv: "a,b\n1,2\n3\n", model: Self.model, labelColumn: nil)
        }
        #expect(ragged?.message.hasPrefix("line 3, column 2:") == true)
    }

    @Test("--delimiter and --no-header: predict without a header, and a numeric header refused")
    func predictDelimiterAndNoHeader() throws {
        let unnamed = V1.ModelVersionInfo(name: "m", version: 1, inputColumns: 2)
        let numeric = #expect(throws: CLIError.self) {
            try DataInput.features(csv: "1.5,2\n3,4\n", model: unnamed, labelColumn: nil)
        }
        #expect(numeric?.message.contains("seems to have no header") == true)
        let headerless = try DataInput.features(
            csv: "1.5,2\n3,4\n",
            model: unnamed,
            labelColumn: nil,
            format: CSVFormat(hasHeader: false)
        )
        #expect(headerless.rows == 2)
        #expect(headerless.values == [1.5, 2, 3, 4])
        let pipe = try DataInput.features(
            csv: "x|y\n1|2\n",
            model: unnamed,
            labelColumn: nil,
            format: CSVFormat(delimiter: CSVDelimiter("|"))
        )
        #expect(pipe.values == [1, 2])
    }

    @Test("--delimiter and --no-header parse on train, evaluate, predict and datasets upload")
    func csvFlags() throws {
        let train = try ModelwireCommand.Train.parse([
            "--model", "m", "--data", "x.csv", "--delimiter", ";", "--no-header",
        ])
        #expect(train.csv.format == CSVFormat(delimiter: .semicolon, hasHeader: false))
        let evaluate = try ModelwireCommand.Evaluate.parse(["--model", "m", "--data", "x.csv", "--delimiter", "tab"])
        #expect(evaluate.csv.format == CSVFormat(delimiter: .tab, hasHeader: true))
        let predict = try ModelwireCommand.Predict.parse(["--model", "m", "--data", "-", "--no-header"])
        #expect(predict.csv.format == CSVFormat(delimiter: nil, hasHeader: false))
        let upload = try ModelwireCommand.Datasets.Upload.parse(["--name", "d", "--data", "x.csv", "--delimiter", "|"])
        #expect(upload.csv.format == CSVFormat(delimiter: CSVDelimiter("|"), hasHeader: true))
        #expect(try ModelwireCommand.Train.parse(["--model", "m", "--data", "x.csv"]).csv.format == .standard)
        #expect(throws: (any Error).self) {
            try ModelwireCommand.Train.parse(["--model", "m", "--data", "x.csv", "--delimiter", "ab"])
        }
        #expect(throws: (any Error).self) {
            try ModelwireCommand.Predict.parse(["--model", "m", "--data", "x.csv", "--delimiter", "1"])
        }
    }

    @Test("labelled rows (train, evaluate, datasets upload) honour --delimiter and --no-header")
    func labelledFormat() throws {
        let rows = try DataInput.labelled(
            path: "-",
            label: nil,
            task: .classification,
            format: CSVFormat(delimiter: .semicolon, hasHeader: false),
            standardInput: { Array("1;2;a\n3;4;b\n".utf8) }
        )
        #expect(rows.featureNames == ["f1", "f2"])
        #expect(rows.features == V1.Tensor(columns: 2, values: [1, 2, 3, 4]))
        #expect(rows.classNames == ["a", "b"])
        let numeric = #expect(throws: DatasetError.self) {
            try DataInput.labelled(
                path: "-",
                label: nil,
                task: .classification,
                standardInput: { Array("1,2,0\n3,4,1\n".utf8) }
            )
        }
        #expect(numeric?.code == .numericHeader)
    }

    @Test("--data - reads stdin for train, evaluate and datasets upload, as for predict")
    func stdinData() throws {
        for arguments in [
            ["train", "--model", "m"], ["evaluate", "--model", "m"], ["datasets", "upload", "--name", "d"],
            ["predict", "--model", "m"],
        ] {
            let command = try ModelwireCommand.parseAsRoot(arguments + ["--data", "-"])
            let data =
                (command as? ModelwireCommand.Train)?.data ?? (command as? ModelwireCommand.Evaluate)?.data
                ?? (command as? ModelwireCommand.Datasets.Upload)?.data ?? (command as? ModelwireCommand.Predict)?.data
            #expect(data == "-", "\(arguments)")
        }
        var read = 0
        let stdin = { () throws -> [UInt8] in
            read += 1
            return Array("x,y,label\n1,2,0\n3,4,1\n".utf8)
        }
        let regression = try DataInput.labelled(path: "-", label: "x", task: .regression, standardInput: stdin)
        #expect(regression.targets == [1, 3])
        #expect(regression.featureNames == ["y", "label"])
        let labelled = try DataInput.labelled(path: "-", label: nil, task: .classification, standardInput: stdin)
        #expect(labelled.classIds == [0, 1])
        let predict = try DataInput.features(path: "-", model: Self.model, labelColumn: nil, standardInput: stdin)
        #expect(predict.values == [1, 2, 3, 4])
        #expect(read == 3)
    }

    @Test("an unreadable --data file says why: no such file, is a directory, permission denied")
    func unreadableReasons() throws {
        let missing = #expect(throws: DatasetError.self) {
            try DataInput.labelled(path: "nope.csv", label: nil, task: .classification)
        }
        #expect(missing?.message == "cannot read nope.csv: no such file")
        let predictMissing = #expect(throws: CLIError.self) {
            try DataInput.features(path: "nope.csv", model: Self.model, labelColumn: nil)
        }
        #expect(predictMissing?.message == "cannot read nope.csv: no such file")
        let directory = #expect(throws: DatasetError.self) {
            try DataInput.labelled(path: "/tmp", label: nil, task: .classification)
        }
        #expect(directory?.message == "cannot read /tmp: is a directory")
        let importDirectory = #expect(throws: CLIError.self) { try readFile("/tmp") }
        #expect(importDirectory?.message == "cannot read /tmp: is a directory")
        #expect(FileReadError.reason(errno: EACCES) == "permission denied")
        let export = #expect(throws: CLIError.self) { try writeFile("/tmp", [1]) }
        #expect(export?.message == "cannot write /tmp: is a directory")
        let exportMissing = #expect(throws: CLIError.self) { try writeFile("/nonexistent/m.bin", [1]) }
        #expect(exportMissing?.message == "cannot write /nonexistent/m.bin: no such file")
        if getuid() != 0 {  // root reads any file: the mode cannot refuse it
            let path = "/tmp/modelwire-cli-test-\(getpid()).csv"
            #expect(FileManagerless.write(path, "x,label\n1,a\n2,b\n"))
            defer { unlink(path) }
            chmod(path, 0)
            let denied = #expect(throws: DatasetError.self) {
                try DataInput.labelled(path: path, label: nil, task: .classification)
            }
            #expect(denied?.message == "cannot read \(path): permission denied")
        }
    }

    @Test("evaluate --json has the documented keys, log_loss null without probabilities")
    func evaluationShape() {
        var metrics = V1.ClassificationMetrics(accuracy: 0.5)
        metrics.perClass = [
            V1.ClassMetrics(label: "a", precision: 1, recall: 0.5, f1: 0.25, support: 2),
            V1.ClassMetrics(label: "b", precision: 0, recall: 0, f1: 0, support: 0),
        ]
        metrics.macro = V1.ClassMetrics(precision: 0.5, recall: 0.25, f1: 0.125)
        metrics.weighted = V1.ClassMetrics(precision: 1, recall: 0.5, f1: 0.25)
        metrics.confusion = V1.ConfusionMatrix(classes: 2, counts: [1, 1, 0, 0])
        let json = Shapes.evaluation(V1.Evaluation(rows: 2, kind: .classification(metrics))).rendered
        #expect(
            json == """
                {"task":"classification","rows":2,"accuracy":0.5,"log_loss":null,\
                "roc_auc_macro":null,"roc_auc_weighted":null,"average_precision":null,\
                "macro":{"precision":0.5,"recall":0.25,"f1":0.125},"weighted":{"precision":1.0,"recall":0.5,"f1":0.25},\
                "per_class":[{"label":"a","precision":1.0,"recall":0.5,"f1":0.25,"support":2},\
                {"label":"b","precision":0.0,"recall":0.0,"f1":0.0,"support":0}],"labels":["a","b"],\
                "confusion_matrix":[[1,1],[0,0]]}
                """
        )
    }

    @Test("evaluate --permutation-importance: 1...100, JSON per feature, the table most important first")
    func permutationImportance() throws {
        #expect(throws: (any Error).self) {
            try ModelwireCommand.Evaluate.parse(["--model", "m", "--data", "x.csv", "--permutation-importance", "0"])
        }
        let parsed = try ModelwireCommand.Evaluate.parse([
            "--model", "m", "--data", "x.csv", "--permutation-importance", "5", "--seed", "9",
        ])
        #expect(parsed.permutationRepeats == 5 && parsed.seed == 9)
        let importances = [
            V1.FeatureImportance(feature: "a", mean: 0.25, std: 0.5),
            V1.FeatureImportance(feature: "b", mean: 0.5, std: 0),
        ]
        #expect(
            Shapes.importances(importances).rendered
                == #"[{"feature":"a","mean":0.25,"std":0.5},{"feature":"b","mean":0.5,"std":0.0}]"#
        )
        let table = Report.importances(importances).split(separator: "\n").map(String.init)
        #expect(table.count == 4 && table[2].hasPrefix("b") && table[3].hasPrefix("a"), "\(table)")
    }

    @Test("train --json's final object carries model, version and metrics")
    func resultShape() {
        let result = V1.TrainResult(
            model: "m",
            version: 3,
            metrics: V1.Evaluation(rows: 1, kind: .regression(.init(mse: 1)))
        )
        let json = Shapes.result(result, jobID: "j").rendered
        #expect(
            json.hasPrefix(#"{"event":"result","job_id":"j","model":"m","version":3,"metrics":{"task":"regression""#)
        )
    }

    @Test("JSON strings are escaped; non-finite numbers are null")
    func escaping() {
        #expect(JSON.string("a\"b\\c\n\u{1}").rendered == #""a\"b\\c\n\u0001""#)
        #expect(JSON.array([.float(.nan), .float(.infinity), .float(1.5)]).rendered == "[null,null,1.5]")
    }

    @Test("status codes print with PROTOCOL.md's names")
    func statusNames() {
        #expect(Names.status(.invalidArgument) == "invalid_argument")
        #expect(Names.status(.unavailable) == "unavailable")
        #expect(Names.status(V1.StatusCode(rawValue: 99)) == "code_99")
    }

    @Test("--version takes a number or an alias")
    func versionSelector() throws {
        #expect(try modelRef("m", "3").selector == .version(3))
        #expect(try modelRef("m", "production").selector == .alias("production"))
        #expect(try modelRef("m", nil).selector == nil)
    }
}

/// Writes a small file with POSIX calls (the test target does not import Foundation).
enum FileManagerless {
    static func write(_ path: String, _ text: String) -> Bool {
        guard let file = fopen(path, "wb") else { return false }
        defer { fclose(file) }
        return fputs(text, file) >= 0
    }
}
