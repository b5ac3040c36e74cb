import Foundation
import ModelwireClient
import ModelwireCodec
import ModelwireProtocol
import ModelwireServer
import ModelwireTestSupport
import Testing

/// TLS and mutual TLS on the binary port (issue 12 item 3, docs/security.md), with a throw-away
/// PKI made at test time by `tools/tls/make-test-certs` (no key is committed).
@Suite("TLS", .blockingThreads, .blockingThreads)
struct TLSTests {
    /// The test PKI's files, made once per test process.
    static let pki: String = {
        let directory = TestServer.temporaryDirectory() + "-pki"
        let script = Fixtures.dataDirectory.deletingLastPathComponent().appendingPathComponent(
            "tools/tls/make-test-certs"
        )
        let process = Process()
        process.executableURL = script
        process.arguments = [directory]
        try! process.run()
        process.waitUntilExit()
        precondition(process.terminationStatus == 0, "tools/tls/make-test-certs failed")
        return directory
    }()

    static func file(_ name: String) -> String { "\(pki)/\(name)" }

    static func serverTLS(clientCA: Bool = false) -> ServerConfiguration.TLS {
        ServerConfiguration.TLS(
            certificateChainFile: file("server.pem"),
            privateKeyFile: file("server.key"),
            clientCAFile: clientCA ? file("ca.pem") : nil
        )
    }

    static let trustingCA = ModelwireClient.TLS(trustRoots: .file(file("ca.pem")))

    /// A client that waits long for a connect, so that a fast failure is the TLS check's.
    static func patient(_ tls: ModelwireClient.TLS?) -> (inout ModelwireClient.Configuration) -> Void {
        { configuration in
            configuration.tls = tls
            configuration.connectTimeout = .seconds(30)
            configuration.retryPolicy = .none
        }
    }

    /// Expects `body` to fail with `code` well before the 30 s connect timeout, its message containing `words`.
    static func expectFastFailure(
        _ code: V1.StatusCode,
        _ words: String,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> Void
    ) async {
        let start = ContinuousClock.now
        let error = await expectError(code, sourceLocation: sourceLocation, body)
        let elapsed = ContinuousClock.now - start
        // The bound is 2 s; this one is loose for a loaded machine, and far below the timeouts.
        #expect(elapsed < .seconds(10), "took \(elapsed)", sourceLocation: sourceLocation)
        #expect(error?.message.contains(words) == true, "\(String(describing: error))", sourceLocation: sourceLocation)
    }

    @Test("the Swift client trains, predicts and lists over TLS; the certificate names 127.0.0.1 and localhost")
    func swiftClientOverTLS() async throws {
        try await TestServer.with(clientTLS: Self.trustingCA, configure: { $0.tls = Self.serverTLS() }) { server in
            try await server.client(configure: Self.patient(Self.trustingCA)) { client in
                let iris = try Fixtures.dataset("iris")
                let result = try await client.trainToResult(Fixtures.trainRequest(model: "iris", data: iris, epochs: 2))
                #expect(result.result.version == 1)
                let answer = try await client.predict(
                    V1.PredictRequest(model: V1.ModelRef(name: "iris"), inputs: Fixtures.rows(iris, 4))
                )
                #expect(answer.classIds.count == 4)
                #expect(try await client.listModels().map(\.name) == ["iris"])
                let info = try await client.serverInfo()
                #expect(info.tls && !info.clientCertificates && !info.authentication)
            }
            let port = server.endpoint.split(separator: ":").last!
            let byName = try await withModelwireClient(
                endpoints: ["localhost:\(port)"],
                configuration: .defaults(Self.patient(Self.trustingCA)),
                logger: TestServer.quiet
            ) { try await $0.health().ready }
            #expect(byName)
        }
    }

    @Test("mutual TLS: a certificate from the client CA is let in; none, or another CA's, fails at once")
    func mutualTLS() async throws {
        var withCertificate = Self.trustingCA
        withCertificate.certificateChainFile = Self.file("client.pem")
        withCertificate.privateKeyFile = Self.file("client.key")
        let tls = Self.serverTLS(clientCA: true)
        try await TestServer.with(clientTLS: withCertificate, configure: { $0.tls = tls }) { server in
            let info = try await server.client(configure: Self.patient(withCertificate)) {
                try await $0.serverInfo(includeSchema: false)
            }
            #expect(info.tls && info.clientCertificates)
            await Self.expectFastFailure(.failedPrecondition, "requires a client certificate") {
                try await server.client(configure: Self.patient(Self.trustingCA)) { _ = try await $0.health() }
            }
            var otherCA = withCertificate
            otherCA.certificateChainFile = Self.file("other-client.pem")
            otherCA.privateKeyFile = Self.file("other-client.key")
            await Self.expectFastFailure(.failedPrecondition, "does not trust this client's certificate") {
                try await server.client(configure: Self.patient(otherCA)) { _ = try await $0.health() }
            }
        }
    }

    @Test("a plaintext client on a TLS port, and a TLS client on a plaintext port, each fail at once saying so")
    func mismatches() async throws {
        try await TestServer.with(clientTLS: Self.trustingCA, configure: { $0.tls = Self.serverTLS() }) { server in
            await Self.expectFastFailure(.failedPrecondition, "speaks TLS on this port") {
                try await server.client(configure: Self.patient(nil)) { _ = try await $0.health() }
            }
        }
        try await TestServer.with { server in
            await Self.expectFastFailure(.failedPrecondition, "did not answer in TLS") {
                try await server.client(configure: Self.patient(Self.trustingCA)) { _ = try await $0.health() }
            }
        }
    }

    @Test("an untrusted CA, a certificate for another name, or an unreadable CA file fail with what to fix")
    func badTrust() async throws {
        try await TestServer.with(clientTLS: Self.trustingCA, configure: { $0.tls = Self.serverTLS() }) { server in
            await Self.expectFastFailure(.failedPrecondition, "not signed by a trusted CA") {
                let other = ModelwireClient.TLS(trustRoots: .file(Self.file("other-ca.pem")))
                try await server.client(configure: Self.patient(other)) { _ = try await $0.health() }
            }
            await Self.expectFastFailure(.invalidArgument, "cannot read /nonexistent/ca.pem (--ca)") {
                let missing = ModelwireClient.TLS(trustRoots: .file("/nonexistent/ca.pem"))
                try await server.client(configure: Self.patient(missing)) { _ = try await $0.health() }
            }
        }
        // A certificate for modelwire.test only: 127.0.0.1 is not its name, unless the client expects that name.
        var named = Self.trustingCA
        named.serverName = "modelwire.test"
        let namedServer = ServerConfiguration.TLS(
            certificateChainFile: Self.file("named-server.pem"),
            privateKeyFile: Self.file("named-server.key")
        )
        try await TestServer.with(clientTLS: named, configure: { $0.tls = namedServer }) { server in
            await Self.expectFastFailure(.failedPrecondition, "does not name that host") {
                try await server.client(configure: Self.patient(Self.trustingCA)) { _ = try await $0.health() }
            }
            let ready = try await server.client(configure: Self.patient(named)) { try await $0.health().ready }
            #expect(ready)
        }
    }

    @Test("modelwire-server: SIGHUP reloads the certificates for new connections; bad TLS flags stop it at start")
    func serverProcessReloadAndFlags() throws {
        let directory = TestServer.temporaryDirectory()
        let certificate = directory + "/server.pem"
        let key = directory + "/server.key"
        try FileManager.default.copyItem(atPath: Self.file("server.pem"), toPath: certificate)
        try FileManager.default.copyItem(atPath: Self.file("server.key"), toPath: key)
        let process = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: ["--tls-cert", certificate, "--tls-key", key],
            standardError: FileHandle.nullDevice  // the reload of a broken file logs an error, as it should
        )
        defer { process.terminate() }
        let cli = ServerProcess.executable.deletingLastPathComponent().appendingPathComponent("modelwire")
        func health(ca: String) throws -> (status: Int32, output: String) {
            try ServerProcess.run(
                cli,
                ["health", "--json", "--server", process.endpoint, "--tls", "--ca", ca],
                capture: .standardOutput
            )
        }
        #expect(try health(ca: Self.file("ca.pem")).status == 0)
        #expect(try health(ca: Self.file("other-ca.pem")).status == 1)

        // Swap in the other CA's certificate, then SIGHUP: new connections get it.
        for (name, target) in [("other-server.pem", certificate), ("other-server.key", key)] {
            try FileManager.default.removeItem(atPath: target)
            try FileManager.default.copyItem(atPath: Self.file(name), toPath: target)
        }
        kill(process.process.processIdentifier, SIGHUP)
        var reloaded = false
        for _ in 0..<100 where !reloaded {
            reloaded = try health(ca: Self.file("other-ca.pem")).status == 0
            if !reloaded { usleep(50_000) }
        }
        #expect(reloaded)
        // A broken file on the next SIGHUP keeps the certificate in force.
        try "not a certificate".write(toFile: certificate, atomically: true, encoding: .utf8)
        kill(process.process.processIdentifier, SIGHUP)
        usleep(200_000)
        #expect(try health(ca: Self.file("other-ca.pem")).status == 0)

        let keyless = try ServerProcess.runToExit(["--port", "0", "--tls-cert", Self.file("server.pem")])
        #expect(keyless.status != 0)
        #expect(keyless.stderr.contains("--tls-cert needs --tls-key"), "\(keyless.stderr)")
        let unreadable = try ServerProcess.runToExit([
            "--port", "0", "--repository", TestServer.temporaryDirectory(), "--tls-cert", "/nonexistent.pem",
            "--tls-key", Self.file("server.key"),
        ])
        #expect(unreadable.status == 1)
        #expect(unreadable.stderr.contains("cannot read /nonexistent.pem (--tls-cert)"), "\(unreadable.stderr)")
        let repository = TestServer.temporaryDirectory()
        for (arguments, message) in [
            (["--tls-key", Self.file("server.key")], "--tls-key needs --tls-cert"),
            (["--tls-client-ca", Self.file("ca.pem")], "--tls-client-ca needs --tls-cert and --tls-key"),
            (
                ["--tls-cert", Self.file("server.pem"), "--tls-key", Self.file("client.key")],
                "the TLS certificate and key cannot be used together (--tls-cert, --tls-key)"
            ),
        ] {
            let refused = try ServerProcess.runToExit(["--port", "0", "--repository", repository] + arguments)
            #expect(refused.status != 0)
            #expect(refused.stderr.contains(message), "\(arguments): \(refused.stderr)")
        }
    }

    @Test("the CLI's --client-cert and --client-key open a mutual-TLS server; without them it says what is missing")
    func cliMutualTLS() throws {
        let process = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: [
                "--tls-cert", Self.file("server.pem"), "--tls-key", Self.file("server.key"), "--tls-client-ca",
                Self.file("ca.pem"),
            ]
        )
        defer { process.terminate() }
        let cli = ServerProcess.executable.deletingLastPathComponent().appendingPathComponent("modelwire")
        let tls = ["--server", process.endpoint, "--tls", "--ca", Self.file("ca.pem")]
        let mutual = try ServerProcess.run(
            cli,
            ["health", "--json"] + tls + [
                "--client-cert", Self.file("client.pem"), "--client-key", Self.file("client.key"),
            ],
            capture: .standardOutput
        )
        #expect(mutual.status == 0 && mutual.output.contains("\"ready\":true"), "\(mutual.output)")
        let without = try ServerProcess.run(cli, ["health"] + tls, capture: .standardError)
        #expect(without.status == 1)
        #expect(
            without.output.contains("failed_precondition (9)")
                && without.output.contains("requires a client certificate")
        )
        let halfPair = try ServerProcess.run(
            cli,
            ["health"] + tls + ["--client-cert", Self.file("client.pem")],
            capture: .standardError
        )
        #expect(halfPair.status != 0 && halfPair.output.contains("--client-cert and --client-key go together"))
    }

    @Test("modelwire-load measures predicts over TLS")
    func loadToolOverTLS() throws {
        let process = try ServerProcess(
            repository: TestServer.temporaryDirectory(),
            extraArguments: ["--tls-cert", Self.file("server.pem"), "--tls-key", Self.file("server.key")]
        )
        defer { process.terminate() }
        let report = try LoadToolTests.runLoad([
            "--server", process.endpoint, "--tls", "--ca", Self.file("ca.pem"), "--train-reference", "--train-rows",
            "200", "--train-epochs", "1", "--concurrency", "2", "--calls", "50", "--warmup", "0", "--json",
        ])
        let steps = try #require(report["steps"] as? [[String: Any]])
        #expect((steps.first?["errors"] as? [String: Int]) == [:], "\(steps)")
    }
}
