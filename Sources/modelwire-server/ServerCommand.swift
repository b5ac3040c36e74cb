import ArgumentParser
import Foundation
import Logging
import ModelwireProtocol
import ModelwireServer
import NIOCore
import ServiceLifecycle
import UnixSignals

/// `modelwire-server`: flags, environment and an optional config file → ServerConfiguration → run.
@main
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modelwire-server",
        abstract: "Serve, train and evaluate models over the Modelwire v1 protocol.",
        discussion: """
            Every option can also be set in the environment as MODELWIRE_<OPTION> (e.g. MODELWIRE_PORT=7411, \
            MODELWIRE_REPOSITORY=/var/lib/modelwire) or in a JSON config file (--config FILE or MODELWIRE_CONFIG) \
            whose keys are the option names ({"port": 7411, "max-concurrent-jobs": 2}). Precedence: flag, \
            environment, file, default.

            Authentication (docs/security.md): --auth-file FILE names the accepted tokens by their SHA-256; \
            `modelwire-server hash-token` reads a token on stdin and prints the hash to put there. SIGHUP reloads \
            the file without dropping connections (those whose token was removed get GOAWAY). Without --auth-file \
            the server listens only on a loopback address unless --insecure-no-auth is given.

            TLS: --tls-cert FILE --tls-key FILE serve TLS 1.2+ on the port and the HTTP port (plaintext clients \
            of the binary port are told so and closed); --tls-client-ca FILE also requires client certificates \
            signed by that CA (mutual TLS). SIGHUP reloads the certificates too: new connections use them, open \
            ones keep theirs.

            HTTP (docs/operations.md): --http-port N serves GET /metrics (Prometheus text), the probes \
            GET /v2/health/live and /v2/health/ready, and the Open Inference Protocol (KServe V2) REST API \
            (GET /v2, /v2/models/NAME[/versions/V][/ready], POST .../infer) on the same --host; with --auth-file \
            it takes "Authorization: Bearer TOKEN" (the probes need none).

            The first line on stdout is "modelwire-server listening on HOST:PORT" (with --http-port, the second \
            line is "modelwire-server http listening on HOST:PORT"). SIGTERM or SIGINT drains: \
            clients get GOAWAY, in-flight calls finish within --grace-period-ms, training jobs still running \
            shortly before it ends are stopped (their followers get UNAVAILABLE saying so), and the exit status \
            is 0. A failure to start (a busy port, an unusable repository) is one line on stderr and exit status 1.

            Options:
            \(ServerOption.helpText)
            """,
        version: ModelServer.version
    )

    @Option(help: "A JSON file of options (keys as the long option names; also MODELWIRE_CONFIG).") var config: String?

    @Argument(
        parsing: .allUnrecognized,
        help: ArgumentHelp("Server options, each --name value or --name=value (listed below).", valueName: "options")
    )
    var options: [String] = []

    func run() async throws {
        if options.first == "hash-token" {
            try Self.hashToken(arguments: Array(options.dropFirst()))
            return
        }
        MemoryReturn.keepLargeBuffersOnHeap()
        let environment = ProcessInfo.processInfo.environment
        let settings = try ServerSettings.parse(
            arguments: options,
            configFile: config ?? environment["MODELWIRE_CONFIG"],
            environment: environment
        )
        let level = Logger.Level(rawValue: settings.logLevel.rawValue) ?? .info
        let format = settings.logFormat
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
        let logger = Logger(label: "modelwire-server")
        let configuration = settings.configuration
        let portFile = settings.portFile
        let server = ModelServer(configuration: configuration, logger: logger) { address in
            let text = "\(address.ipAddress ?? configuration.host):\(address.port ?? 0)"
            print("modelwire-server listening on \(text)")
            fflush(nil)  // stdout may be a pipe: the address line must not wait in a buffer
            if let portFile { try? (text + "\n").write(toFile: portFile, atomically: true, encoding: .utf8) }
        } onHTTPListening: { address in
            print("modelwire-server http listening on \(address.ipAddress ?? configuration.host):\(address.port ?? 0)")
            fflush(nil)
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: server),
                    // Returns at shutdown; must not cancel the server's drain.
                    .init(service: CredentialReloader(server: server), successTerminationBehavior: .ignore),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch let error as ServerRuntimeError {
            FileHandle.standardError.write(Data("modelwire-server: \(error.message)\n".utf8))
            throw ExitCode.failure
        }
    }
}

extension ServerCommand {
    /// `modelwire-server hash-token`: the SHA-256 (hex) of the token read from stdin, for a token
    /// file's "sha256". One trailing newline is not part of the token (`echo "$TOKEN" | ...`).
    static func hashToken(arguments: [String]) throws {
        guard arguments.isEmpty else {
            FileHandle.standardError.write(
                Data("modelwire-server: hash-token takes no arguments; it reads the token from stdin\n".utf8)
            )
            throw ExitCode.validationFailure
        }
        var text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        if text.hasSuffix("\r\n") {
            text.removeLast(1)  // "\r\n" is one Character
        } else if text.hasSuffix("\n") {
            text.removeLast()
        }
        guard !text.isEmpty else {
            FileHandle.standardError.write(Data("modelwire-server: hash-token: no token on stdin\n".utf8))
            throw ExitCode.failure
        }
        print(TokenFile.sha256Hex(text))
    }
}

/// Reloads the token file and the TLS certificates on SIGHUP until the server shuts down.
struct CredentialReloader: Service {
    let server: ModelServer

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            server.reloadCredentials()
            server.reloadCertificates()
        }
    }
}
