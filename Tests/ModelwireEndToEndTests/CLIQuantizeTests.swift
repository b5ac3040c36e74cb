import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireTestSupport
import Testing

/// `modelwire quantize` against a real server (issue 14): calibration rows without labels, the
/// report as a table and as JSON, and flags that cannot work refused before any call.
@Suite("CLI quantize", .blockingThreads, .blockingThreads)
struct CLIQuantizeTests {
    /// Rows of `data` as CSV: its feature names, then the label column when `labels`.
    static func csv(_ data: V1.Dataset, rows: Int, labels: Bool) throws -> String {
        let columns = Int(data.features!.columns)
        var text = (data.featureNames + (labels ? ["label"] : [])).joined(separator: ",") + "\n"
        for row in 0..<rows {
            let values = data.features!.values[(row * columns)..<((row + 1) * columns)].map { "\($0)" }
            text += (values + (labels ? [data.classNames[Int(data.classIds[row])]] : [])).joined(separator: ",") + "\n"
        }
        let path = TestServer.temporaryDirectory() + ".csv"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("quantize with unlabelled calibration rows: the table names the activations' choice; --json the report")
    func quantizeFromTheCommandLine() async throws {
        try await TestServer.with { server in
            let data = try Fixtures.dataset("digits")
            try await server.client { client in try await TransformCallTests.source(client, "digits", data) }
            let calibration = try Self.csv(data, rows: 300, labels: false)
            let evaluation = try Self.csv(data, rows: 300, labels: true)
            let common = ["quantize", "--server", server.endpoint, "--model", "digits", "--version", "1"]

            let table = try CLIPredictTests.modelwire(
                common + ["--calibration-data", calibration, "--eval-data", evaluation, "--to", "digits-int8"]
            )
            #expect(table.status == 0)
            #expect(table.stdout.contains("stored digits-int8 version 1"))
            #expect(table.stdout.contains("note: activations: "))
            #expect(table.stdout.split(separator: "\n").contains { $0.hasPrefix("accuracy") })

            let json = try CLIPredictTests.modelwire(common + ["--activations", "dynamic", "--json"])
            #expect(json.status == 0)
            let last = try #require(json.stdout.split(separator: "\n").last)
            let object = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
            #expect(object?["event"] as? String == "result" && object?["version"] as? Int == 2)
            let report = try #require(object?["report"] as? [String: Any])
            let side = try #require(report["result"] as? [String: Any])
            #expect((side["file_bytes"] as? Int ?? 0) > 0)

            let refused = try CLIPredictTests.modelwire(common + ["--activations", "static"])
            #expect(refused.status == 64)
        }
    }
}
