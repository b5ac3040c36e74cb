import ModelwireCodec
@testable import modelwire
import Testing

/// The CLI's pure parts: argument hoisting, predict's column selection, and the fixed JSON shapes.
@Suite struct CLITests {
    @Test("shared flags before the subcommand move after it")
    func hoisting() {
        #expect(ModelwireCommand.hoistingSharedOptions(["--server", "h:1", "--json", "models", "list"])
            == ["models", "list", "--server", "h:1", "--json"])
        #expect(ModelwireCommand.hoistingSharedOptions(["--server=h:1", "health"]) == ["health", "--server=h:1"])
        #expect(ModelwireCommand.hoistingSharedOptions(["predict", "--json", "--model", "m"])
            == ["predict", "--json", "--model", "m"])
        #expect(ModelwireCommand.hoistingSharedOptions(["--version"]) == ["--version"])
    }

    static let model = V1.ModelVersionInfo(name: "m", version: 2, inputColumns: 2, featureNames: ["a", "b"])

    @Test("predict picks the model's columns by name, in the model's order, ignoring the label")
    func columnsByName() throws {
        let (rows, values) = try DataInput.features(csv: "b,label,a\n2,x,1\n4,y,3\n", model: Self.model, labelColumn: nil)
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

    @Test("evaluate --json has the documented keys, log_loss null without probabilities")
    func evaluationShape() {
        var metrics = V1.ClassificationMetrics(accuracy: 0.5)
        metrics.perClass = [V1.ClassMetrics(label: "a", precision: 1, recall: 0.5, f1: 0.25, support: 2),
                            V1.ClassMetrics(label: "b", precision: 0, recall: 0, f1: 0, support: 0)]
        metrics.macro = V1.ClassMetrics(precision: 0.5, recall: 0.25, f1: 0.125)
        metrics.weighted = V1.ClassMetrics(precision: 1, recall: 0.5, f1: 0.25)
        metrics.confusion = V1.ConfusionMatrix(classes: 2, counts: [1, 1, 0, 0])
        let json = Shapes.evaluation(V1.Evaluation(rows: 2, kind: .classification(metrics))).rendered
        #expect(json == """
            {"task":"classification","rows":2,"accuracy":0.5,"log_loss":null,\
            "macro":{"precision":0.5,"recall":0.25,"f1":0.125},"weighted":{"precision":1.0,"recall":0.5,"f1":0.25},\
            "per_class":[{"label":"a","precision":1.0,"recall":0.5,"f1":0.25,"support":2},\
            {"label":"b","precision":0.0,"recall":0.0,"f1":0.0,"support":0}],"labels":["a","b"],\
            "confusion_matrix":[[1,1],[0,0]]}
            """)
    }

    @Test("train --json's final object carries model, version and metrics")
    func resultShape() {
        let result = V1.TrainResult(model: "m", version: 3, metrics: V1.Evaluation(rows: 1, kind: .regression(.init(mse: 1))))
        let json = Shapes.result(result, jobID: "j").rendered
        #expect(json.hasPrefix(#"{"event":"result","job_id":"j","model":"m","version":3,"metrics":{"task":"regression""#))
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
