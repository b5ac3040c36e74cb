import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import ModelwireTestSupport
import Testing

/// The server's log as an operator reads it (issue 13 item 2): `--log-format json|text`.
@Suite("Server logs", .blockingThreads, .blockingThreads)
struct LoggingTests {
    /// Runs a server with `arguments`, makes a few calls, stops it; its log lines.
    static func log(_ arguments: [String]) async throws -> [String] {
        let (path, handle) = try AuthTests.logFile()
        let process = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: arguments,
            standardError: handle
        )
        let server = TestServer(endpoint: process.endpoint, repository: "")
        try await server.client { client in
            _ = try await client.health()
            _ = try? await client.describeModel(V1.ModelRef(name: "missing"))
        }
        process.terminate()
        try handle.close()
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    @Test("--log-format json: every line is one JSON object with time, level, label, message and metadata")
    func jsonLines() async throws {
        let lines = try await Self.log(["--log-format", "json", "--log-level", "debug"])
        #expect(lines.count >= 3, "\(lines)")
        var messages: [String] = []
        for line in lines {
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                "not a JSON object: \(line)"
            )
            #expect(object["time"] as? String != nil && object["level"] as? String != nil)
            #expect(object["label"] as? String == "modelwire-server")
            messages.append(try #require(object["message"] as? String))
            if object["message"] as? String == "listening" {
                #expect((object["modelwire.address"] as? String)?.contains("127.0.0.1") == true)
            }
        }
        #expect(messages.contains("listening") && messages.contains("stopped"), "\(messages)")
    }

    @Test("one line per call at debug, per failed call at info: method, model, status, duration, id, trace id")
    func callLines() async throws {
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let options = ModelwireClient.CallOptions(metadata: V1.CallMetadata(traceparent: traceparent))
        func run(_ level: String) async throws -> [[String: Any]] {
            let (path, handle) = try AuthTests.logFile()
            let process = try ServerProcess(
                repository: TestServer.temporaryDirectory(),
                extraArguments: ["--log-format", "json", "--log-level", level],
                standardError: handle
            )
            let server = TestServer(endpoint: process.endpoint, repository: "")
            try await server.client { client in
                // Until the repository is loaded, calls are refused as unavailable (and retried):
                // wait for ready, so that each call below has one line.
                var health = try await client.health(options: options)
                for _ in 0..<200 where !health.ready {
                    try await Task.sleep(for: .milliseconds(25))
                    health = try await client.health(options: options)
                }
                _ = try? await client.describeModel(V1.ModelRef(name: "missing"), options: options)
                _ = try await client.listModels()  // no metadata: no trace id
            }
            process.terminate()
            try handle.close()
            return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap {
                try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }.filter { ($0["message"] as? String)?.hasPrefix("call") == true }
        }
        let debug = try await run("debug")
        let byMethod = Dictionary(debug.map { ($0["modelwire.method"] as? String ?? "?", $0) }) { a, _ in a }
        let health = try #require(byMethod["Health"], "\(debug)")
        #expect(health["message"] as? String == "call" && health["level"] as? String == "debug")
        #expect(
            health["modelwire.status"] as? String == "ok"
                && health["trace_id"] as? String == String(traceparent.dropFirst(3).prefix(32))
        )
        #expect(health["modelwire.parent_span_id"] as? String == "00f067aa0ba902b7")
        #expect(Int(health["modelwire.duration_us"] as? String ?? "") != nil && health["modelwire.call_id"] != nil)
        #expect(health["modelwire.peer"] as? String != nil)
        let describe = try #require(byMethod["DescribeModel"])
        #expect(describe["message"] as? String == "call failed" && describe["level"] as? String == "info")
        #expect(
            describe["modelwire.status"] as? String == "notFound" && describe["modelwire.model"] as? String == "missing"
        )
        #expect(describe["trace_id"] as? String == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(byMethod["ListModels"] != nil && byMethod["ListModels"]?["trace_id"] == nil)
        // At info, only the failed call has a line.
        let info = try await run("info")
        #expect(info.map { $0["modelwire.method"] as? String } == ["DescribeModel"], "\(info)")
    }

    @Test("--log-format text is the default; an unknown format is refused at start")
    func textAndBadFormat() async throws {
        let lines = try await Self.log(["--log-level", "info"])
        #expect(lines.contains { $0.contains("info modelwire-server:") && $0.contains("listening") }, "\(lines)")
        let refused = try ServerProcess.runToExit(["--log-format", "yaml"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("log-format must be text or json; got \"yaml\""), "\(refused.stderr)")
    }
}
