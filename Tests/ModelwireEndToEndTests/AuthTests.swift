import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import ModelwireServer
import ModelwireTestSupport
import Testing

/// Tokens and roles (issue 12 item 1, PROTOCOL.md §3.1) against the real `modelwire-server`
/// executable with `--auth-file`.
@Suite("Authentication and roles", .blockingThreads, .blockingThreads)
struct AuthTests {
    /// The role each method needs, as the issue states it (not read from the server's table, so
    /// that a wrong row there fails here).
    static let required: [V1.Method: AccessRole] = [
        .predict: .predict, .listModels: .predict, .describeModel: .predict, .health: .predict,
        .serverInfo: .predict, .explain: .predict,
        .train: .train, .evaluate: .train, .getJob: .train, .listJobs: .train, .watchJob: .train,
        .cancelJob: .train, .uploadDataset: .train, .listDatasets: .train, .deleteDataset: .train,
        .deleteModel: .admin, .setAlias: .admin, .exportModel: .admin, .importModel: .admin, .quantize: .admin,
        .prune: .admin,
        .distill: .admin,
        .tune: .train,
    ]

    static let tokens: [AccessRole: String] = [
        .predict: "predict-token-7f3a", .train: "train-token-91c2", .admin: "admin-token-0b5e",
    ]

    /// A token file for `tokens` (name = role), in a new directory.
    static func authFile(_ tokens: [AccessRole: String]) throws -> String {
        let path = TestServer.temporaryDirectory() + "-auth.json"
        try writeAuthFile(path, tokens.map { ("\($0.key)", $0.key, $0.value) })
        return path
    }

    static func writeAuthFile(_ path: String, _ entries: [(name: String, role: AccessRole, token: String)]) throws {
        let items = entries.map {
            "{\"name\": \"\($0.name)\", \"role\": \"\($0.role)\", \"sha256\": \"\(TokenFile.sha256Hex($0.token))\"}"
        }
        let text = "{\"tokens\": [\(items.joined(separator: ", "))]}"
        try text.write(toFile: path + ".tmp", atomically: false, encoding: .utf8)
        _ = rename(path + ".tmp", path)
    }

    /// A new empty file for a server's log, and a handle writing to it.
    static func logFile() throws -> (path: String, handle: FileHandle) {
        let path = TestServer.temporaryDirectory() + ".log"
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw ModelwireErrorForTests("cannot create \(path)") }
        return (path, handle)
    }

    /// Calls `method` with an empty request on `connection`; the status code (0 = a MESSAGE answer).
    static func call(_ connection: RawConnection, _ method: V1.Method, id: UInt32) throws -> V1.StatusCode {
        try connection.sendRequest(method: UInt16(method.rawValue), callID: id)
        while true {
            let (kind, callID, payload) = try connection.readFrame()
            guard callID == id else { continue }
            if kind == Frame.Kind.error.rawValue { return try V1.Status(serializedBytes: payload).code }
            if kind == Frame.Kind.message.rawValue { return .ok }
        }
    }

    @Test("every method × every role and no token: allowed, PERMISSION_DENIED (7) or UNAUTHENTICATED (16)")
    func roleMethodMatrix() throws {
        #expect(Set(Self.required.keys) == Set(MethodDescriptor.v1.map(\.method)), "a method without a role here")
        let process = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: ["--auth-file", try Self.authFile(Self.tokens)]
        )
        defer { process.terminate() }
        for role in [AccessRole.none, .predict, .train, .admin] {
            let connection = try RawConnection(process.endpoint)
            let hello = try connection.handshake(token: Self.tokens[role])
            #expect(hello.role == role.wireForTests, "ServerHello.role for \(role)")
            var id: UInt32 = 0
            for descriptor in MethodDescriptor.v1 {
                id += 1
                let needed = try #require(Self.required[descriptor.method])
                let code = try Self.call(connection, descriptor.method, id: id)
                if role == .none {
                    #expect(code == .unauthenticated, "\(descriptor.name) without a token: \(code)")
                } else if role < needed {
                    #expect(code == .permissionDenied, "\(descriptor.name) with role \(role): \(code)")
                } else {
                    #expect(
                        code != .permissionDenied && code != .unauthenticated,
                        "\(descriptor.name) with role \(role): \(code)"
                    )
                }
            }
            // The refusals failed only their calls: the connection still serves.
            let after = try Self.call(connection, role == .none ? .health : .listModels, id: id + 1)
            #expect(after == (role == .none ? .unauthenticated : .ok), "after the matrix, role \(role)")
        }
    }

    @Test("PERMISSION_DENIED names the method and the role it needs, through the Swift client")
    func permissionDeniedMessage() async throws {
        let process = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: ["--auth-file", try Self.authFile(Self.tokens)]
        )
        defer { process.terminate() }
        let server = TestServer(endpoint: process.endpoint, repository: "")
        try await server.client(configure: { $0.bearerToken = Self.tokens[.predict] }) { client in
            let error = await expectError(.permissionDenied) {
                _ = try await client.deleteModel(name: "iris")
            }
            #expect(error?.message == "DeleteModel needs role admin; this connection's token has role predict")
            let live = try await client.health().live
            #expect(live)  // same client, still served
        }
    }

    @Test("a wrong token: ERROR UNAUTHENTICATED on call 0, then the server closes")
    func wrongToken() async throws {
        let process = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: ["--auth-file", try Self.authFile(Self.tokens)]
        )
        defer { process.terminate() }
        let connection = try RawConnection(process.endpoint)
        try connection.sendHello(
            V1.ClientHello(
                protocolVersions: [1],
                compression: [.none],
                credentials: V1.Credentials(bearerToken: "admin-token-0b5f"),
                clientName: "raw"
            )
        )
        let (kind, callID, status) = try connection.readErrorFrame()
        #expect(kind == Frame.Kind.error.rawValue && callID == 0)
        #expect(status.code == .unauthenticated)
        #expect(status.message == "the bearer token is not valid")
        #expect(try connection.readUntilClosed())
        // The Swift client reports it as the connection's error.
        let server = TestServer(endpoint: process.endpoint, repository: "")
        _ = try await server.client(configure: { $0.bearerToken = "nope" }) { client in
            await expectError(.unauthenticated) { _ = try await client.health() }
        }
    }

    @Test("the CLI sends --token or MODELWIRE_TOKEN; without one it fails UNAUTHENTICATED (16)")
    func cliToken() throws {
        let process = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: ["--auth-file", try Self.authFile(Self.tokens)]
        )
        defer { process.terminate() }
        let cli = ServerProcess.executable.deletingLastPathComponent().appendingPathComponent("modelwire")
        let server = ["--server", process.endpoint]
        let viaEnvironment = try ServerProcess.run(
            cli,
            ["models", "list", "--json"] + server,
            environment: ["MODELWIRE_TOKEN": Self.tokens[.predict]!],
            capture: .standardOutput
        )
        #expect(viaEnvironment.status == 0, "\(viaEnvironment.output)")
        let viaFlag = try ServerProcess.run(
            cli,
            ["models", "list", "--token", Self.tokens[.predict]!] + server,
            environment: ["MODELWIRE_TOKEN": ""],
            capture: .standardOutput
        )
        #expect(viaFlag.status == 0)
        let without = try ServerProcess.run(
            cli,
            ["models", "list"] + server,
            environment: ["MODELWIRE_TOKEN": ""],
            capture: .standardError
        )
        #expect(without.status == 1)
        #expect(without.output.contains("unauthenticated (16): ListModels needs a token with role predict"))
        let wrong = try ServerProcess.run(
            cli,
            ["models", "list", "--token", "not-a-token"] + server,
            capture: .standardError
        )
        #expect(wrong.status == 1)
        #expect(wrong.output.contains("unauthenticated (16): the bearer token is not valid"), "\(wrong.output)")
    }

    @Test("modelwire-load sends --token: trains the reference net (role train) and measures predicts")
    func loadToolToken() throws {
        let process = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: ["--auth-file", try Self.authFile(Self.tokens)]
        )
        defer { process.terminate() }
        let report = try LoadToolTests.runLoad([
            "--server", process.endpoint, "--token", Self.tokens[.train]!, "--train-reference", "--train-rows", "200",
            "--train-epochs", "1", "--concurrency", "2", "--calls", "50", "--warmup", "0", "--json",
        ])
        let steps = try #require(report["steps"] as? [[String: Any]])
        #expect((steps.first?["errors"] as? [String: Int]) == [:], "\(steps)")
    }

    @Test("--health-without-auth: Health without a token answers, every other method stays UNAUTHENTICATED")
    func healthWithoutAuth() throws {
        let process = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: ["--auth-file", try Self.authFile(Self.tokens), "--health-without-auth"]
        )
        defer { process.terminate() }
        let connection = try RawConnection(process.endpoint)
        try connection.handshake(token: nil)
        #expect(try Self.call(connection, .health, id: 1) == .ok)
        #expect(try Self.call(connection, .serverInfo, id: 2) == .unauthenticated)
        #expect(try Self.call(connection, .predict, id: 3) == .unauthenticated)
    }

    @Test("SIGHUP reloads the token file: a revoked token's connection gets GOAWAY, others keep their connection")
    func reloadOnSighup() throws {
        let path = TestServer.temporaryDirectory() + "-auth.json"
        try Self.writeAuthFile(path, [("a", .admin, "token-a"), ("c", .predict, "token-c")])
        let process = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: ["--auth-file", path]
        )
        defer { process.terminate() }
        let a = try RawConnection(process.endpoint)
        try a.handshake(token: "token-a")
        let c = try RawConnection(process.endpoint)
        try c.handshake(token: "token-c")
        #expect(try Self.call(c, .listJobs, id: 1) == .permissionDenied)

        try Self.writeAuthFile(path, [("c", .train, "token-c"), ("b", .predict, "token-b")])
        kill(process.process.processIdentifier, SIGHUP)
        let (kind, _, payload) = try a.readFrame()
        #expect(kind == Frame.Kind.goAway.rawValue)
        #expect(try V1.GoAway(serializedBytes: payload).reason == "the connection's token was revoked")
        #expect(try a.readUntilClosed())
        // c's connection was kept, and now has role train (its event may trail a's by a moment).
        var id: UInt32 = 1
        var code = V1.StatusCode.permissionDenied
        for _ in 0..<200 where code == .permissionDenied {
            id += 1
            code = try Self.call(c, .listJobs, id: id)
            if code == .permissionDenied { usleep(10_000) }
        }
        #expect(code == .ok)
        let b = try RawConnection(process.endpoint)
        #expect(try b.handshake(token: "token-b").role == .predict)
        let again = try RawConnection(process.endpoint)
        try again.sendHello(
            V1.ClientHello(protocolVersions: [1], credentials: V1.Credentials(bearerToken: "token-a"))
        )
        #expect(try again.readErrorFrame().status.code == .unauthenticated)
    }

    @Test("a broken token file on SIGHUP keeps the previous tokens")
    func brokenReloadKeepsTokens() throws {
        let path = TestServer.temporaryDirectory() + "-auth.json"
        try Self.writeAuthFile(path, [("a", .admin, "token-a")])
        let (log, handle) = try Self.logFile()
        let process = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: ["--auth-file", path],
            standardError: handle
        )
        defer { process.terminate() }
        let a = try RawConnection(process.endpoint)
        try a.handshake(token: "token-a")
        try "{\"tokens\": [{\"name\": \"x\"".write(toFile: path, atomically: true, encoding: .utf8)
        kill(process.process.processIdentifier, SIGHUP)
        // The event: the server's log line about the failed reload.
        var logged = false
        for _ in 0..<1000 where !logged {
            logged = (try? String(contentsOfFile: log, encoding: .utf8))?.contains("was not reloaded") ?? false
            if !logged { usleep(10_000) }
        }
        #expect(logged)
        #expect(try Self.call(a, .listModels, id: 1) == .ok)
        let fresh = try RawConnection(process.endpoint)
        #expect(try fresh.handshake(token: "token-a").role == .admin)
        #expect(!a.waitReadable(milliseconds: 200))  // no GOAWAY for a
    }

    @Test("hash-token prints the SHA-256 of stdin without its newline (FIPS 180-4 'abc' vector)")
    func hashToken() throws {
        let process = Process()
        process.executableURL = ServerProcess.executable
        process.arguments = ["hash-token"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data("abc\n".utf8))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n")
    }

    @Test("a non-loopback address without --auth-file refuses to start; --insecure-no-auth starts with a warning")
    func safeDefaults() throws {
        let repository = TestServer.temporaryDirectory()
        let refused = try ServerProcess.runToExit(["--host", "0.0.0.0", "--port", "0", "--repository", repository])
        #expect(refused.status == 1)
        #expect(
            refused.stderr
                == "modelwire-server: refusing to listen on 0.0.0.0 without --auth-file: anyone who can reach it "
                + "could train, delete and export models (pass --insecure-no-auth to do so anyway)\n"
        )
        let (log, handle) = try Self.logFile()
        let insecure = try ServerProcess(
            repository: repository,
            extraArguments: ["--host", "0.0.0.0", "--insecure-no-auth", "--log-level", "warning"],
            standardError: handle
        )
        insecure.terminate()
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains("warning") && text.contains("without authentication (--insecure-no-auth)"))
        let badFile = TestServer.temporaryDirectory() + "-auth.json"
        try "{\"tokens\": [{\"name\": \"ops\", \"role\": \"root\", \"sha256\": \"00\"}]}".write(
            toFile: badFile,
            atomically: true,
            encoding: .utf8
        )
        let bad = try ServerProcess.runToExit(["--port", "0", "--repository", repository, "--auth-file", badFile])
        #expect(bad.status == 1)
        #expect(
            bad.stderr
                == "modelwire-server: auth file \(badFile): token \"ops\": \"role\" must be predict, train or admin\n"
        )
    }

    @Test("tokens and request bodies never appear in the server log, even at trace level")
    func nothingSecretInLogs() async throws {
        let (log, handle) = try Self.logFile()
        let process = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: ["--auth-file", try Self.authFile(Self.tokens), "--log-level", "trace"],
            standardError: handle
        )
        let server = TestServer(endpoint: process.endpoint, repository: "")
        var data = try Fixtures.dataset("iris")
        data.featureNames = ["secretcolumnq1", "secretcolumnq2", "secretcolumnq3", "secretcolumnq4"]
        try await server.client(configure: { $0.bearerToken = Self.tokens[.admin] }) { client in
            _ = try await client.trainToResult(Fixtures.trainRequest(model: "m", data: data, epochs: 2))
            var rows = Fixtures.rows(data, 1)
            rows.values[0] = 4242.125
            _ = try await client.predict(V1.PredictRequest(model: V1.ModelRef(name: "m"), inputs: rows))
            rows.values[0] = .nan  // an error whose message could quote the body
            await expectError(.invalidArgument) {
                _ = try await client.predict(V1.PredictRequest(model: V1.ModelRef(name: "m"), inputs: rows))
            }
        }
        let wrong = try RawConnection(process.endpoint)
        try wrong.sendHello(
            V1.ClientHello(protocolVersions: [1], credentials: V1.Credentials(bearerToken: "zz-wrong-zz"))
        )
        _ = try wrong.readErrorFrame()
        process.terminate()
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains("refused a connection"), "the log was captured")
        for secret in Self.tokens.values + ["zz-wrong-zz", "secretcolumnq", "4242.125"] {
            #expect(!text.contains(secret), "\(secret) in the log")
        }
        for token in Self.tokens.values { #expect(!text.contains(TokenFile.sha256Hex(token)), "a hash in the log") }
    }
}

extension AccessRole {
    var wireForTests: V1.Role {
        switch self {
        case .none: .none
        case .predict: .predict
        case .train: .train
        case .admin: .admin
        }
    }
}
