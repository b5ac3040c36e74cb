import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import ModelwireServer
import ModelwireTestSupport
import Testing

/// Models survive restarts and crashes; corrupt files are skipped, never fatal.
@Suite(.blockingThreads) struct DurabilityTests {
    @Test func aRestartKeepsEveryModelAliasAndDataset() async throws {
        let repository = TestServer.temporaryDirectory()
        let iris = try Fixtures.dataset("iris")
        let before = try await TestServer.with(repository: repository) { server in
            try await server.client { client in
                _ = try await client.trainToResult(Fixtures.trainRequest(model: "iris", data: iris, epochs: 3))
                _ = try await client.trainToResult(Fixtures.trainRequest(model: "iris", data: iris, epochs: 4))
                _ = try await client.setAlias(model: "iris", alias: "production", version: 1)
                _ = try await client.uploadDataset(name: "iris-data", dataset: iris)
                return try await client.predict(
                    V1.PredictRequest(
                        model: V1.ModelRef(name: "iris", selector: .version(1)),
                        inputs: Fixtures.rows(iris, 10),
                        includeProbabilities: true
                    )
                )
            }
        }
        try await TestServer.with(repository: repository) { server in
            try await server.client { client in
                let models = try await client.listModels()
                #expect(models.first?.versions.map(\.version) == [1, 2])
                #expect(models.first?.aliases == [V1.Alias(name: "production", version: 1)])
                try await #expect(await client.listDatasets().map(\.name) == ["iris-data"])
                let after = try await client.predict(
                    V1.PredictRequest(
                        model: V1.ModelRef(name: "iris", selector: .alias("production")),
                        inputs: Fixtures.rows(iris, 10),
                        includeProbabilities: true
                    )
                )
                #expect(after.scores == before.scores)  // bit for bit
                try await #expect(
                    await client.trainToResult(Fixtures.trainRequest(model: "iris", data: iris, epochs: 2)).result
                        .version == 3
                )
            }
        }
    }

    @Test("a deleted newest version's number is not reused after a restart (issue 11 item 19)")
    func versionNumbersAreNeverReused() async throws {
        let repository = TestServer.temporaryDirectory()
        let iris = try Fixtures.dataset("iris")
        try await TestServer.with(repository: repository) { server in
            try await server.client { client in
                _ = try await client.trainToResult(Fixtures.trainRequest(model: "iris", data: iris, epochs: 2))
                _ = try await client.trainToResult(Fixtures.trainRequest(model: "iris", data: iris, epochs: 2))
                #expect(try await client.deleteModel(name: "iris", version: 2) == [2])
            }
        }
        try await TestServer.with(repository: repository) { server in
            try await server.client { client in
                let third = try await client.trainToResult(Fixtures.trainRequest(model: "iris", data: iris, epochs: 2))
                #expect(third.result.version == 3)
            }
        }
    }

    @Test func aCorruptVersionIsSkippedAtStart() async throws {
        let repository = TestServer.temporaryDirectory()
        let iris = try Fixtures.dataset("iris")
        try await TestServer.with(repository: repository) { server in
            try await server.client { client in
                _ = try await client.trainToResult(Fixtures.trainRequest(model: "iris", data: iris, epochs: 2))
                _ = try await client.trainToResult(Fixtures.trainRequest(model: "iris", data: iris, epochs: 2))
            }
        }
        try Data([0xFF, 0x00, 0x13]).write(to: URL(fileURLWithPath: "\(repository)/iris/2/model.pb"))
        try FileManager.default.createDirectory(
            atPath: "\(repository)/iris/.staging-3-123",
            withIntermediateDirectories: true
        )
        try await TestServer.with(repository: repository) { server in
            try await server.client { client in
                try await #expect(await client.listModels().first?.versions.map(\.version) == [1])
                #expect(!FileManager.default.fileExists(atPath: "\(repository)/iris/.staging-3-123"))
            }
        }
    }

    @Test func killDashNineDuringTrainingLosesNothingAndLeavesNoPartialVersion() async throws {
        let repository = TestServer.temporaryDirectory()
        let iris = try Fixtures.dataset("iris")
        let digits = try Fixtures.dataset("digits")
        var process = try ServerProcess(repository: repository)
        let jobID = try await withModelwireClient(endpoints: [process.endpoint], logger: TestServer.quiet) { client in
            _ = try await client.trainToResult(Fixtures.trainRequest(model: "iris", data: iris, epochs: 3))
            let long = Fixtures.trainRequest(
                model: "digits",
                data: digits,
                spec: .dense(V1.DenseNetSpec(hidden: [V1.DenseLayerSpec(units: 64)])),
                epochs: 500
            )
            var jobID = ""
            for try await event in try await client.train(long) {
                jobID = event.jobId
                if case .progress? = event.event { break }  // training is under way
            }
            return jobID
        }
        process.kill9()
        process = try ServerProcess(repository: repository)
        try await withModelwireClient(endpoints: [process.endpoint], logger: TestServer.quiet) { client in
            let models = try await client.listModels()
            #expect(models.map(\.name) == ["iris"])
            #expect(models.first?.versions.map(\.version) == [1])
            let job = try await client.getJob(id: jobID)
            #expect(job.state == .failed)
            #expect(job.error?.message.contains("interrupted") == true)
            _ = try await client.predict(
                V1.PredictRequest(model: V1.ModelRef(name: "iris"), inputs: Fixtures.rows(iris, 1))
            )
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: repository).filter { !$0.hasPrefix(".") }
        #expect(leftovers == ["iris"])
        process.terminate()
    }
}

/// The real `modelwire-server` executable (built next to the test bundle) in its own process.
struct ServerProcess {
    let process: Process
    let endpoint: String

    /// The executable built beside the test bundle.
    static var executable: URL {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let executable = directory.appendingPathComponent("modelwire-server")
        // swift test runs the bundle from .build/<triple>/debug
        if !FileManager.default.fileExists(atPath: executable.path) {
            return directory.deletingLastPathComponent().appendingPathComponent("modelwire-server")
        }
        return executable
    }

    /// Runs the server executable to its end: exit status and standard error.
    static func runToExit(
        _ arguments: [String],
        environment: [String: String] = [:]
    ) throws -> (status: Int32, stderr: String) {
        let result = try Self.run(executable, arguments, environment: environment, capture: .standardError)
        return (result.status, result.output)
    }

    /// Which output stream `run` returns (the other is discarded).
    enum Capture { case standardOutput, standardError }

    /// Runs an executable built beside the test bundle to its end: its exit status and the
    /// captured stream.
    static func run(
        _ executable: URL,
        _ arguments: [String],
        environment: [String: String] = [:],
        capture: Capture
    ) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        switch capture {
        case .standardOutput:
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
        case .standardError:
            process.standardError = pipe
            process.standardOutput = FileHandle.nullDevice
        }
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    /// Starts the server; `standardError`, when given, receives its log; `workingDirectory` is its current directory.
    init(
        repository: String,
        extraArguments: [String] = [],
        workingDirectory: String? = nil,
        standardError: FileHandle? = nil
    ) throws {
        process = Process()
        process.executableURL = Self.executable
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        process.arguments = ["--port", "0", "--repository", repository, "--log-level", "error"] + extraArguments
        let output = Pipe()
        process.standardOutput = output
        if let standardError { process.standardError = standardError }
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw ModelwireErrorForTests("modelwire-server exited before listening") }
            line += chunk
        }
        let text = String(decoding: line, as: UTF8.self)
        endpoint = String(text.split(separator: "\n")[0].split(separator: " ").last!)
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func terminate() {
        process.terminate()
        process.waitUntilExit()
    }
}
