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

            The first line on stdout is "modelwire-server listening on HOST:PORT". SIGTERM or SIGINT drains: \
            clients get GOAWAY, in-flight calls finish within --grace-period-ms, running training jobs are \
            cancelled, and the exit status is 0.
            """,
        version: ModelServer.version)

    @Option(help: "Address to bind (default 127.0.0.1, loopback only).") var host: String?
    @Option(help: "TCP port; 0 picks a free one (default \(ServerConfiguration.defaultPort)).") var port: Int?
    @Option(help: "Model repository directory: models, datasets and job records (default ./modelwire-repository).")
    var repository: String?
    @Option(name: .customLong("port-file"), help: "Also write the listening address (host:port) to this file.") var portFile: String?
    @Option(help: "A JSON file of options (keys as the long option names).") var config: String?
    @Option(name: .customLong("max-concurrent-jobs"), help: "Training jobs run at once; others queue (default 1).")
    var maxConcurrentJobs: Int?
    @Option(name: .customLong("event-loop-threads"), help: "Network threads (default: the number of cores).")
    var eventLoopThreads: Int?
    @Option(name: .customLong("max-batch-rows"), help: "Rows per dynamic predict batch (default 256).") var maxBatchRows: Int?
    @Option(name: .customLong("max-queue-delay-us"), help: "How long a predict may wait for a batch, in µs (default 0).")
    var maxQueueDelayUs: Int?
    @Option(name: .customLong("max-queued-calls"), help: "Queued predicts per model version before resource_exhausted (default 1024).")
    var maxQueuedCalls: Int?
    @Option(name: .customLong("inline-max-rows"), help: "Predicts up to this many rows run on the network thread (default 64).")
    var inlineMaxRows: Int?
    @Option(name: .customLong("max-frame-bytes"), help: "Largest frame payload (default 16 MiB).") var maxFrameBytes: Int?
    @Option(name: .customLong("max-message-bytes"), help: "Largest message after inflation (default 64 MiB).") var maxMessageBytes: Int?
    @Option(name: .customLong("max-concurrent-calls"), help: "Open calls per connection (default 256).") var maxConcurrentCalls: Int?
    @Option(name: .customLong("idle-timeout-ms"), help: "Close connections idle this long (default 300000).") var idleTimeoutMs: Int?
    @Option(name: .customLong("dataset-quota-bytes"), help: "Total size of uploaded datasets (default 1 GiB).")
    var datasetQuotaBytes: Int?
    @Option(name: .customLong("grace-period-ms"), help: "Time in-flight calls get to finish on shutdown (default 10000).")
    var gracePeriodMs: Int?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (default info).")
    var logLevel: String?

    func run() async throws {
        // Keep large message buffers (a 1024-row predict is ~400 KB) on the heap: with glibc's
        // defaults each one is an mmap/munmap or a heap trim, and the page faults cost ~10x the
        // encode+decode itself (tools/bench-codec measures both; the same values are set there).
        _ = glibcMallopt(-3 /* M_MMAP_THRESHOLD */, 32 << 20)
        _ = glibcMallopt(-1 /* M_TRIM_THRESHOLD */, 256 << 20)
        let settings = try ServerSettings(command: self)
        let level = Logger.Level(rawValue: settings.string("log-level") ?? "info") ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "modelwire-server")
        let configuration = try settings.configuration()
        let portFile = settings.string("port-file")
        let server = ModelServer(configuration: configuration, logger: logger) { address in
            let text = "\(address.ipAddress ?? configuration.host):\(address.port ?? 0)"
            print("modelwire-server listening on \(text)")
            fflush(nil)  // stdout may be a pipe: the address line must not wait in a buffer
            if let portFile { try? (text + "\n").write(toFile: portFile, atomically: true, encoding: .utf8) }
        }
        let group = ServiceGroup(configuration: .init(services: [server], gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: logger))
        try await group.run()
    }
}

/// glibc's `int mallopt(int param, int value)` from <malloc.h>, which the Glibc module does not export.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
