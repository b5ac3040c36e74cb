import ArgumentParser
import Foundation
import ModelwireProtocol
import ModelwireServer

/// One option of `modelwire-server`, declared once: its key is the long flag (`--max-batch-rows`),
/// the config-file key (`"max-batch-rows"`) and, upper-cased, the environment variable
/// (`MODELWIRE_MAX_BATCH_ROWS`); its help text names the default; `apply` parses a value and
/// sets it in the configuration.
struct ServerOption: Sendable {
    let key: String
    let valueName: String
    let help: String
    /// False for a switch (`--insecure-no-auth`): given alone, it means true; `--key=false`,
    /// `MODELWIRE_KEY=0` and `"key": false` turn it off.
    var takesValue = true
    let apply: @Sendable (inout ServerSettings.Values, String) throws -> Void

    /// The environment variable of this option.
    var environmentVariable: String { "MODELWIRE_" + key.uppercased().replacingOccurrences(of: "-", with: "_") }

    /// Every option, in `--help` order.
    static let all: [ServerOption] = [
        text("host", "ADDRESS", "Address to bind (default 127.0.0.1, loopback only).") { $0.configuration.host = $1 },
        int("port", 0...65535, "TCP port; 0 picks a free one (default \(ServerConfiguration.defaultPort)).") {
            $0.port = $1
        },
        text(
            "repository",
            "DIR",
            "Model repository directory: models, datasets and job records (default ./modelwire-repository)."
        ) {
            $0.configuration.repositoryPath = $1
        },
        int(
            "repository-poll-ms",
            0...3_600_000,
            "Read the repository again this often, for models other servers on it stored, aliased or "
                + "deleted (replicas on a shared volume); 0 never (default 1000)."
        ) {
            $0.repositoryPollMilliseconds = $1
        },
        text(
            "replica-id",
            "NAME",
            "This server's name among servers sharing --repository: it owns the jobs it runs (default: the "
                + "host name; servers on one host need their own)."
        ) {
            $0.configuration.replicaID = $1
        },
        text("port-file", "FILE", "Also write the listening address (host:port) to this file.") { $0.portFile = $1 },
        int("max-concurrent-jobs", 1...64, "Training jobs run at once; others queue (default 1).") {
            $0.maxConcurrentJobs = $1
        },
        int("event-loop-threads", 1...256, "Network threads (default: the number of cores).") {
            $0.eventLoopThreads = $1
        },
        int("max-batch-rows", 1...1_000_000, "Rows per dynamic predict batch (default 256).") {
            $0.batching.maxBatchRows = $1
        },
        int("max-queue-delay-us", 0...1_000_000, "How long a predict may wait for a batch, in µs (default 0).") {
            $0.batching.maxQueueDelayMicroseconds = $1
        },
        int(
            "max-queued-calls",
            1...1_000_000,
            "Queued predicts per model version before resource_exhausted (default 1024)."
        ) {
            $0.batching.maxQueuedCalls = $1
        },
        int("inline-max-rows", 0...1_000_000, "Predicts up to this many rows run on the network thread (default 64).") {
            $0.batching.inlineMaxRows = $1
        },
        int("max-frame-bytes", 1024...Int(UInt32.max), "Largest frame payload (default 16 MiB).") {
            $0.limits.maxFrameBytes = $1
        },
        int("max-message-bytes", 1024...Int(UInt32.max), "Largest message after inflation (default 64 MiB).") {
            $0.limits.maxMessageBytes = $1
        },
        int("max-concurrent-calls", 1...100_000, "Open calls per connection (default 256).") {
            $0.limits.maxConcurrentCalls = $1
        },
        int(
            "idle-timeout-ms",
            1000...Int(UInt32.max),
            "Close connections with no frame either way this long, after GOAWAY (default 300000)."
        ) {
            $0.limits.idleTimeoutMilliseconds = $1
        },
        int(
            "handshake-timeout-ms",
            100...3_600_000,
            "Close a connection whose HELLO has not arrived this long after it connected (default 10000)."
        ) {
            $0.handshakeTimeoutMilliseconds = $1
        },
        int(
            "frame-timeout-ms",
            100...3_600_000,
            "A frame's bytes must all arrive within this long of its first byte, else ERROR and close (default 30000)."
        ) {
            $0.frameTimeoutMilliseconds = $1
        },
        int("max-connections", 1...1_000_000, "Connections open at once; more are refused (default 4096).") {
            $0.maxConnections = $1
        },
        int(
            "max-connections-per-address",
            0...1_000_000,
            "Connections open at once from one client address; 0 = no limit (default 0; behind a proxy every "
                + "client has its address)."
        ) {
            $0.maxConnectionsPerAddress = $1
        },
        text(
            "auth-file",
            "FILE",
            "Token file: {\"tokens\": [{\"name\", \"role\", \"sha256\"}]}; reloaded on SIGHUP (default: none, "
                + "every connection is admin, loopback only)."
        ) {
            $0.configuration.authentication.authFile = $1
        },
        flag("health-without-auth", "Connections without a token may call Health (default off).") {
            $0.authentication.healthWithoutAuth = $1
        },
        flag(
            "insecure-no-auth",
            "Listen on a non-loopback address without --auth-file (refused otherwise; logs a warning)."
        ) {
            $0.authentication.insecureNoAuth = $1
        },
        text("tls-cert", "FILE", "PEM certificate chain: serve TLS on the port (needs --tls-key); reloaded on SIGHUP.")
        {
            $0.tlsCertificate = $1
        },
        text("tls-key", "FILE", "PEM private key of --tls-cert.") { $0.tlsKey = $1 },
        text(
            "tls-client-ca",
            "FILE",
            "PEM CA certificates: clients must present a certificate signed by one (mutual TLS)."
        ) {
            $0.tlsClientCA = $1
        },
        int("max-train-epochs", 1...100_000, "Epochs one training request may ask for (default 100000).") {
            $0.trainingCaps.maxEpochs = $1
        },
        int("max-layer-width", 1...4096, "Units of one dense layer (default 4096).") {
            $0.trainingCaps.maxLayerWidth = $1
        },
        int("max-model-parameters", 1...Int(Int32.max), "Trainable parameters of one model (default 50000000).") {
            $0.trainingCaps.maxParameters = $1
        },
        int("max-tree-depth", 1...1000, "An explicit max_depth of a tree model (default 64).") {
            $0.trainingCaps.maxTreeDepth = $1
        },
        int("max-trees", 1...100_000, "Trees of a forest, iterations of boosting (default 10000).") {
            $0.trainingCaps.maxTrees = $1
        },
        int("max-train-cells", 1...Int.max, "Rows × features of one training set (default 100000000).") {
            $0.trainingCaps.maxTrainingCells = $1
        },
        int(
            "max-job-memory-bytes",
            1024...Int.max,
            "A training job's estimated peak memory, checked before it is accepted (default 2 GiB)."
        ) {
            $0.trainingCaps.maxJobMemoryBytes = $1
        },
        int("dataset-quota-bytes", 0...Int.max, "Total size of uploaded datasets (default 1 GiB).") {
            $0.datasetQuotaBytes = $1
        },
        int("grace-period-ms", 0...3_600_000, "Time in-flight calls get to finish on shutdown (default 10000).") {
            $0.shutdownGracePeriodMilliseconds = $1
        },
        int(
            "stalled-write-timeout-ms",
            1000...3_600_000,
            "Close a connection whose client reads no answers this long (default 30000)."
        ) {
            $0.stalledWriteTimeoutMilliseconds = $1
        },
        int(
            "memory-return-interval-ms",
            0...3_600_000,
            "Check this often for a burst's freed memory to give back to the system; 0 never (default 1000)."
        ) {
            $0.memoryReturnIntervalMilliseconds = $1
        },
        int(
            "http-port",
            0...65535,
            "HTTP port for /metrics, /v2/health/* and the V2 inference API; 0 picks a free one (default: off)."
        ) {
            $0.http.port = $1
        },
        int("http-max-header-bytes", 1024...1 << 20, "Request line and headers of one HTTP request (default 16384).") {
            $0.http.maxHeaderBytes = $1
        },
        int("http-max-body-bytes", 1024...Int(UInt32.max), "Body of one HTTP request (default 16 MiB).") {
            $0.http.maxBodyBytes = $1
        },
        int(
            "http-idle-timeout-ms",
            100...3_600_000,
            "Close a keep-alive HTTP connection idle this long (default 60000)."
        ) {
            $0.http.idleTimeoutMilliseconds = $1
        },
        text(
            "metrics",
            "off|prometheus",
            "Keep metrics and serve them at /metrics (default: prometheus with --http-port)."
        ) {
            values,
            text in
            guard let backend = ServerConfiguration.HTTP.Metrics(rawValue: text) else {
                throw ValidationError("metrics must be off or prometheus; got \"\(text)\"")
            }
            values.configuration.http.metrics = backend
        },
        text(
            "metrics-role",
            "ROLE",
            "Role a bearer token needs for /metrics with --auth-file: none, predict, train, admin (default predict)."
        ) {
            values,
            text in
            guard let role = text == "none" ? AccessRole.none : AccessRole(name: text) else {
                throw ValidationError("metrics-role must be none, predict, train or admin; got \"\(text)\"")
            }
            values.configuration.http.metricsRole = role
        },
        text("log-level", "LEVEL", "trace, debug, info, notice, warning, error or critical (default info).") {
            values,
            text in
            guard let level = ServerSettings.LogLevel(rawValue: text) else {
                throw ValidationError(
                    "log-level must be one of trace, debug, info, notice, warning, error, critical; got \"\(text)\""
                )
            }
            values.logLevel = level
        },
        text("log-format", "FORMAT", "text (readable lines) or json (one JSON object per line); default text.") {
            values,
            text in
            guard let format = ServerSettings.LogFormat(rawValue: text) else {
                throw ValidationError("log-format must be text or json; got \"\(text)\"")
            }
            values.logFormat = format
        },
    ]

    /// The `--help` lines of every option: the flag and its variable, then what it does.
    static var helpText: String {
        all.map {
            let value = $0.takesValue ? " <\($0.valueName)>" : ""
            return "  --\($0.key)\(value)   (\($0.environmentVariable))\n      \($0.help)"
        }.joined(
            separator: "\n"
        )
    }

    private static func text(
        _ key: String,
        _ valueName: String,
        _ help: String,
        _ apply: @escaping @Sendable (inout ServerSettings.Values, String) throws -> Void
    ) -> ServerOption {
        ServerOption(key: key, valueName: valueName, help: help, apply: apply)
    }

    private static func flag(
        _ key: String,
        _ help: String,
        _ set: @escaping @Sendable (inout ServerConfiguration, Bool) -> Void
    ) -> ServerOption {
        ServerOption(key: key, valueName: "", help: help, takesValue: false) { values, text in
            switch text.lowercased() {
            case "", "1", "true", "yes", "on": set(&values.configuration, true)
            case "0", "false", "no", "off": set(&values.configuration, false)
            default: throw ValidationError("\(key) is a switch: true or false, got \"\(text)\"")
            }
        }
    }

    private static func int(
        _ key: String,
        _ range: ClosedRange<Int>,
        _ help: String,
        _ set: @escaping @Sendable (inout ServerConfiguration, Int) -> Void
    ) -> ServerOption {
        ServerOption(key: key, valueName: "N", help: help) { values, text in
            guard let value = Int(text), range.contains(value) else {
                throw ValidationError(
                    "\(key) must be an integer in \(range.lowerBound)...\(range.upperBound), got \"\(text)\""
                )
            }
            set(&values.configuration, value)
        }
    }
}
