import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireTestSupport
import Testing

/// `modelwire train / predict / evaluate` on a CSV with text categories and gaps (issue 15 item 1):
/// the CLI sends it as a typed table, the model stores its preprocessing and takes raw rows.
@Suite("CLI tables", .blockingThreads, .blockingThreads)
struct CLITableTests {
    /// A CSV of `rows` rows: `city` (text, some empty or NA), `age` (numbers, some `?`), `member`
    /// (true/false), then `label`, which is "high" for paris or for age above 40.
    static func csv(rows: Int, seed: Int, label: Bool = true) throws -> String {
        var text = "city,age,member" + (label ? ",label" : "") + "\n"
        let cities = ["paris", "lyon", "nice", "lille"]
        for r in 0..<rows {
            let city = cities[(r * 7 + seed) % 4]
            let age = 18 + (r * 13 + seed * 5) % 50
            let cityField = r % 11 == 0 ? (r % 2 == 0 ? "" : "NA") : city
            let ageField = r % 13 == 0 ? "?" : "\(age)"
            let high = city == "paris" || age > 40
            text += "\(cityField),\(ageField),\(r % 3 == 0 ? "true" : "false")"
            text += label ? ",\(high ? "high" : "low")\n" : "\n"
        }
        let path = TestServer.temporaryDirectory() + ".csv"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("a CSV with text categories and gaps trains, predicts and evaluates from raw rows")
    func rawRowsThroughTheCommandLine() async throws {
        try await TestServer.with { server in
            let training = try Self.csv(rows: 400, seed: 1)
            let server = ["--server", server.endpoint]
            let trained = try CLIPredictTests.modelwire(
                ["train"] + server + [
                    "--model", "towns", "--data", training, "--family", "tree", "--max-depth", "6", "--json",
                ]
            )
            #expect(trained.status == 0, "\(trained.stdout)")
            let result = try #require(trained.stdout.split(separator: "\n").last)
            let object = try JSONSerialization.jsonObject(with: Data(result.utf8)) as? [String: Any]
            #expect(object?["event"] as? String == "result")

            let described = try CLIPredictTests.modelwire(
                ["models", "describe"] + server + ["--model", "towns", "--json"]
            )
            #expect(described.status == 0)
            #expect(described.stdout.contains("city=paris"), "\(described.stdout)")

            // Predict: rows without the label, an unseen city and a gap included.
            var rows = try String(contentsOfFile: try Self.csv(rows: 40, seed: 3, label: false), encoding: .utf8)
            rows += "berlin,?,false\n"
            let predictPath = TestServer.temporaryDirectory() + ".csv"
            try rows.write(toFile: predictPath, atomically: true, encoding: .utf8)
            let predicted = try CLIPredictTests.modelwire(
                ["predict"] + server + ["--model", "towns", "--data", predictPath]
            )
            #expect(predicted.status == 0)
            let labels = predicted.stdout.split(separator: "\n")
            #expect(labels.count == 41 && labels.allSatisfy { $0 == "high" || $0 == "low" }, "\(predicted.stdout)")

            let evaluated = try CLIPredictTests.modelwire(
                ["evaluate"] + server + ["--model", "towns", "--data", try Self.csv(rows: 200, seed: 5), "--json"]
            )
            #expect(evaluated.status == 0, "\(evaluated.stdout)")
            let metrics = try JSONSerialization.jsonObject(with: Data(evaluated.stdout.utf8)) as? [String: Any]
            let accuracy = try #require(metrics?["accuracy"] as? Double)
            #expect(accuracy > 0.9, "\(accuracy)")

            let explained = try CLIPredictTests.modelwire(
                ["explain"] + server + ["--model", "towns", "--data", predictPath, "--rows", "0,40", "--json"]
            )
            #expect(explained.status == 0, "\(explained.stdout)")
            let explanation = try JSONSerialization.jsonObject(with: Data(explained.stdout.utf8)) as? [String: Any]
            #expect(explanation?["features"] as? [String] == ["city", "age", "member"], "\(explained.stdout)")

            // A stored table trains by name.
            let uploaded = try CLIPredictTests.modelwire(
                ["datasets", "upload"] + server + ["--name", "towns-rows", "--data", training, "--json"]
            )
            #expect(
                uploaded.status == 0 && uploaded.stdout.contains("\"label_column\":\"label\""),
                "\(uploaded.stdout)"
            )
            let listed = try CLIPredictTests.modelwire(["datasets", "list"] + server)
            #expect(listed.stdout.contains("table (label label)"), "\(listed.stdout)")
            let byName = try CLIPredictTests.modelwire(
                ["train"] + server + ["--model", "towns-2", "--dataset", "towns-rows", "--family", "logistic"]
            )
            #expect(byName.status == 0, "\(byName.stdout)")

            // Flags: a column the CSV lacks is named; ordinal encoding gives one feature per column.
            let bad = try CLIPredictTests.modelwire(
                ["train"] + server + ["--model", "x", "--data", training, "--categorical", "town"]
            )
            #expect(bad.status != 0)
            let ordinal = try CLIPredictTests.modelwire(
                ["train"] + server + [
                    "--model", "towns-ordinal", "--data", training, "--family", "tree", "--encoding", "ordinal",
                    "--missing-indicators", "--impute", "median",
                ]
            )
            #expect(ordinal.status == 0)
            let info = try CLIPredictTests.modelwire(
                ["models", "describe"] + server + ["--model", "towns-ordinal", "--json"]
            )
            #expect(info.stdout.contains("age (missing)") && !info.stdout.contains("city=paris"), "\(info.stdout)")
        }
    }
}
