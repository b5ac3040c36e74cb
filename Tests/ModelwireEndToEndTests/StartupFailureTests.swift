import Foundation
import Logging
import ModelwireServer
import ModelwireTestSupport
import Testing

/// What an operator sees when the server cannot start: one line on stderr, exit status 1 (64 for
/// a bad option), and nothing left running.
@Suite("Start-up failures", .blockingThreads, .blockingThreads)
struct StartupFailureTests {
    @Test("a busy port: 'cannot listen on HOST:PORT: address already in use', exit 1")
    func busyPort() throws {
        let repository = TestServer.temporaryDirectory()
        let running = try ServerProcess(repository: repository)
        defer { running.terminate() }
        let port = try #require(running.endpoint.split(separator: ":").last.map(String.init))
        let (status, stderr) = try ServerProcess.runToExit([
            "--port", port, "--repository", TestServer.temporaryDirectory(),
        ])
        #expect(status == 1)
        #expect(stderr == "modelwire-server: cannot listen on 127.0.0.1:\(port): address already in use\n")
    }

    @Test("run() on a busy port throws ServerRuntimeError.bindFailed after releasing what it started")
    func busyPortInProcess() async throws {
        try await TestServer.with { server in
            let port = Int(server.endpoint.split(separator: ":").last!)!
            let configuration = ServerConfiguration(
                host: "127.0.0.1",
                port: port,
                repositoryPath: TestServer.temporaryDirectory()
            )
            let second = ModelServer(configuration: configuration, logger: TestServer.quiet)
            await #expect(throws: ServerRuntimeError.self) { try await second.run() }
            do { try await second.run() } catch let error as ServerRuntimeError { #expect(error.code == .bindFailed) }
        }
    }

    @Test("a file given as the repository: 'not a directory', exit 1")
    func repositoryIsAFile() throws {
        let file = TestServer.temporaryDirectory() + ".file"
        FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        let (status, stderr) = try ServerProcess.runToExit(["--port", "0", "--repository", file])
        #expect(status == 1)
        #expect(stderr == "modelwire-server: cannot use repository \(file): not a directory\n")
    }

    @Test("a repository given as a bare relative name that does not exist yet is created")
    func relativeRepositoryIsCreated() throws {
        let directory = TestServer.temporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let server = try ServerProcess(repository: "fresh-repository", workingDirectory: directory)
        defer { server.terminate() }
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: directory + "/fresh-repository", isDirectory: &isDirectory))
        #expect(isDirectory.boolValue)
    }

    @Test("bad options name the option, from a flag or from the environment; exit 64")
    func badOptions() throws {
        let unknown = try ServerProcess.runToExit(["--bogus", "1"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("unknown option --bogus"))
        let range = try ServerProcess.runToExit(["--port=99999"])
        #expect(range.status == 64)
        #expect(range.stderr.contains("port must be an integer in 0...65535, got \"99999\""))
        let environment = try ServerProcess.runToExit([], environment: ["MODELWIRE_MAX_BATCH_ROWS": "lots"])
        #expect(environment.status == 64)
        #expect(environment.stderr.contains("max-batch-rows must be an integer"))
    }
}
