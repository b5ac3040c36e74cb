import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireTestSupport
import Testing

/// The `modelwire` CLI against a real server, where its output shape depends on the server's answer.
@Suite("CLI predict", .blockingThreads, .blockingThreads)
struct CLIPredictTests {
    /// Runs the CLI built beside the test bundle; its exit status and standard output.
    static func modelwire(_ arguments: [String]) throws -> (status: Int32, stdout: String) {
        let cli = ServerProcess.executable.deletingLastPathComponent().appendingPathComponent("modelwire")
        let result = try ServerProcess.run(cli, arguments, capture: .standardOutput)
        return (result.status, result.output)
    }

    @Test("binary SVM --probabilities: one decision score per row, in JSON and in the table (issue 11 item 4)")
    func binarySVMScores() async throws {
        try await TestServer.with { server in
            let data = try Fixtures.dataset("breast_cancer")
            _ = try await server.client { client in
                try await client.trainToResult(
                    Fixtures.trainRequest(model: "bc", data: data, spec: .linearSvm(V1.LinearSvmSpec()))
                )
            }
            let columns = Int(data.features!.columns)
            let rows = 5
            var csv = data.featureNames.joined(separator: ",") + "\n"
            for row in 0..<rows {
                csv +=
                    data.features!.values[(row * columns)..<((row + 1) * columns)].map { "\($0)" }
                    .joined(separator: ",") + "\n"
            }
            let path = TestServer.temporaryDirectory() + ".csv"
            try csv.write(toFile: path, atomically: true, encoding: .utf8)
            let common = ["predict", "--server", server.endpoint, "--model", "bc", "--data", path, "--probabilities"]

            let json = try Self.modelwire(common + ["--json"])
            #expect(json.status == 0)
            let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
            let scores = try #require(object?["probabilities"] as? [[Double]])
            #expect(scores.count == rows)
            #expect(scores.allSatisfy { $0.count == 1 })
            #expect((object?["labels"] as? [String])?.count == rows)

            let table = try Self.modelwire(common)
            #expect(table.status == 0)
            let lines = table.stdout.split(separator: "\n")
            #expect(lines.count == rows + 1)
            #expect(lines.first?.hasPrefix("label\tscore(") == true)
            #expect(lines.dropFirst().allSatisfy { $0.split(separator: "\t").count == 2 })
        }
    }
}

/// Ctrl-C on `modelwire train` (issue 11 item 17).
@Suite("CLI interrupt", .blockingThreads, .blockingThreads)
struct CLIInterruptTests {
    @Test("Ctrl-C detaches: the job keeps running and stderr says how to follow it again; exit 130")
    func interruptDetachesWithAHint() async throws {
        try await TestServer.with { server in
            let process = Process()
            process.executableURL = ServerProcess.executable.deletingLastPathComponent().appendingPathComponent(
                "modelwire"
            )
            process.arguments = [
                "train", "--server", server.endpoint, "--model", "long", "--family", "mlp", "--epochs", "100000",
                "--data", Fixtures.dataDirectory.appendingPathComponent("iris.csv").path,
            ]
            let output = Pipe()
            let errors = Pipe()
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            var seen = Data()
            while !String(decoding: seen, as: UTF8.self).contains("accepted") {
                let chunk = output.fileHandleForReading.availableData
                guard !chunk.isEmpty else { break }
                seen += chunk
            }
            try await Task.sleep(for: .milliseconds(200))  // the hint is installed with the first event
            kill(process.processIdentifier, SIGINT)
            let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 130)
            #expect(stderr.contains("follow it again with: modelwire jobs watch job-"), "\(stderr)")
            let jobs = try await server.client { client in try await client.listJobs() }
            #expect(jobs.first?.state == .running || jobs.first?.state == .queued)
        }
    }
}
