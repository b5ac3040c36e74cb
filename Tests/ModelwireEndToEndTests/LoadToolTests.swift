import Foundation
import ModelwireTestSupport
import Testing

/// `modelwire-load` (the built executable) against a real `modelwire-server` process: it trains
/// the reference net, runs a short closed-loop sweep (both client APIs) and an open-loop step, and
/// its JSON holds up.
@Suite(.blockingThreads) struct LoadToolTests {
    @Test func closedAndOpenLoopAgainstARealServer() throws {
        let repository = TestServer.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: repository) }
        let server = try ServerProcess(repository: repository)
        defer { server.terminate() }

        let closed = try Self.runLoad([
            "--server", server.endpoint, "--train-reference", "--train-rows", "500",
            "--train-epochs", "1", "--concurrency", "1,4", "--rows", "2",
            "--warmup", "0.2", "--duration", "1", "--json",
        ])
        let closedSteps = try #require(closed["steps"] as? [[String: Any]])
        #expect(closedSteps.count == 2)
        #expect(closedSteps.map { $0["concurrency"] as? Int } == [1, 4])
        for step in closedSteps { try Self.check(step) }
        let configuration = try #require(closed["configuration"] as? [String: String])
        #expect(Int(configuration["requestBytes"] ?? "") ?? 0 > 800)  // 2 rows x 100 floats

        // The same closed loop through the async API (a task per worker) and a call count.
        let async = try Self.runLoad([
            "--server", server.endpoint, "--api", "async", "--concurrency", "3", "--calls", "90",
            "--warmup", "0", "--json",
        ])
        let asyncSteps = try #require(async["steps"] as? [[String: Any]])
        #expect(asyncSteps.count == 1)
        try Self.check(asyncSteps[0])
        #expect(asyncSteps[0]["calls"] as? Int == 90)
        #expect((async["configuration"] as? [String: String])?["api"] == "async")

        let open = try Self.runLoad([
            "--server", server.endpoint, "--rate", "200", "--arrivals", "poisson",
            "--warmup", "0.2", "--duration", "1", "--json",
        ])
        let openSteps = try #require(open["steps"] as? [[String: Any]])
        #expect(openSteps.count == 1)
        try Self.check(openSteps[0])
        let throughput = openSteps[0]["throughput"] as? Double ?? 0
        #expect(throughput > 100 && throughput < 300, "an open loop at 200/s measured \(throughput)/s")
    }

    /// Throughput > 0, percentiles ordered, no errors, the server's timings present.
    static func check(_ step: [String: Any]) throws {
        #expect((step["throughput"] as? Double ?? 0) > 0)
        #expect((step["calls"] as? Int ?? 0) > 0)
        #expect((step["errors"] as? [String: Int]) == [:])
        let latency = try #require(step["latency"] as? [String: Double])
        let ordered = ["p50Ms", "p90Ms", "p99Ms", "p999Ms", "maxMs"].map { latency[$0] ?? -1 }
        #expect(ordered[0] > 0 && ordered == ordered.sorted(), "\(ordered)")
        let server = try #require(step["server"] as? [String: Any])
        #expect((server["batchRowsMean"] as? Double ?? 0) >= 1)
    }

    /// Runs the built `modelwire-load` to the end and parses its stdout as JSON.
    static func runLoad(_ arguments: [String]) throws -> [String: Any] {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var executable = directory.appendingPathComponent("modelwire-load")
        // swift test runs the bundle from .build/<triple>/debug
        if !FileManager.default.fileExists(atPath: executable.path) {
            executable = directory.deletingLastPathComponent().appendingPathComponent("modelwire-load")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "modelwire-load failed: \(errorText)")
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "not JSON: \(errorText)")
    }
}
