import Foundation
import ModelwireCodec
import Testing

/// `modelwire tune` against the real server: trial lines and the sorted table, `--json` one object
/// per event, and a bad grid refused with the parameter named.
@Suite struct CLITuneTests {
    @Test("tune prints a line per trial and the table; --json an object per event; bad grids exit 1")
    func tuneFromTheCommandLine() async throws {
        try await TestServer.with { server in
            let iris = try CLIQuantizeTests.csv(try Fixtures.dataset("iris"), rows: 150, labels: true)
            let common = ["tune", "--server", server.endpoint, "--model", "iris", "--data", iris, "--family", "tree"]

            let table = try CLIPredictTests.modelwire(
                common + ["--grid", "max-depth=1|3;criterion=gini|entropy", "--folds", "3", "--metric", "f1_macro"]
            )
            #expect(table.status == 0)
            let lines = table.stdout.split(separator: "\n")
            #expect(lines.filter { $0.hasPrefix("trial ") }.count == 4)
            #expect(lines.contains { $0.hasPrefix("rank  trial  f1_macro mean ± std") })
            #expect(lines.last?.hasPrefix("best: max-depth=3") == true && lines.last?.contains("as iris v1") == true)

            let json = try CLIPredictTests.modelwire(common + ["--grid", "max-depth=2|3", "--random", "1", "--json"])
            #expect(json.status == 0)
            let objects = try json.stdout.split(separator: "\n").map {
                try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
            #expect(objects.map { $0["event"] as? String } == ["accepted", "trial", "result"])
            #expect((objects[1]["fold_scores"] as? [Double])?.count == 5)
            let tune = try #require(objects[2]["tune"] as? [String: Any])
            #expect((tune["trials"] as? [[String: Any]])?.count == 1 && tune["combinations"] as? Int == 2)
            #expect(objects[2]["version"] as? Int == 2)

            let refused = try CLIPredictTests.modelwire(common + ["--grid", "depth=3"])
            #expect(refused.status == 1)
            let syntax = try CLIPredictTests.modelwire(common + ["--grid", "max-depth"])
            #expect(syntax.status == 64)
        }
    }
}
