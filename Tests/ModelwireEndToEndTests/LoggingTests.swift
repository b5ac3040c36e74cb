import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import Testing

/// The server's log as an operator reads it (issue 13 item 2): `--log-format json|text`.
@Suite("Server logs")
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

    @Test("--log-format text is the default; an unknown format is refused at start")
    func textAndBadFormat() async throws {
        let lines = try await Self.log(["--log-level", "info"])
        #expect(lines.contains { $0.contains("info modelwire-server:") && $0.contains("listening") }, "\(lines)")
        let refused = try ServerProcess.runToExit(["--log-format", "yaml"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("log-format must be text or json; got \"yaml\""), "\(refused.stderr)")
    }
}
