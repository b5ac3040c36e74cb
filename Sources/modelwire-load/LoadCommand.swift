import ArgumentParser
import Foundation
import Logging
import ModelwireClient
import ModelwireCodec
import ModelwireCommandLine
import ModelwireProtocol
import NIOCore
import NIOPosix

/// `modelwire-load`: drives Predict calls at a Modelwire server and reports latency percentiles,
/// throughput, errors and the server's own per-call timings. Wiring only: the loops, the
/// recorder and the report live in their own files.
@main
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modelwire-load",
        abstract: "Load generator for a Modelwire server's Predict call.",
        discussion: """
            Closed loop (default): --concurrency N keeps N calls in flight (spread over --connections \
            multiplexed connections); each worker sends its next call when the previous one answers. \
            Open loop: --rate R starts R calls per second whatever the server does (--arrivals constant \
            or poisson); latency is measured from each call's intended start, so a slow server cannot \
            hide behind a slow sender (no coordinated omission).

            A comma-separated list (--concurrency 1,16,64,256 or --rate 1000,5000) is a sweep: each \
            step warms up (--warmup), then measures for --duration seconds (or --calls calls), and \
            prints one row. Latencies come from an HDR histogram (3 significant digits). Server \
            columns are the means of the server's own timings carried in each response (queue, \
            decode, compute, encode in µs; batch rows = rows in the dynamic batch the call rode in). \
            CPU is seconds of user+system time over the window, for this tool and each --cpu-pid.

            The model must exist: --train-reference first trains the reference net \
            (100 → 64 relu → 64 relu → 10 softmax) on a seeded synthetic dataset as a new version of --model.

            Examples:
              modelwire-load --train-reference --concurrency 1,16,64 --rows 1
              modelwire-load --model digits --data data/digits.csv --rows 32 --rate 500,1000 --arrivals poisson
              modelwire-load --concurrency 64 --duration 10 --json > result.json
            """
    )

    @Option(
        help: ArgumentHelp(
            """
            Server address. A comma-separated list balances the calls over those servers with the \
            client's own pool (round-robin, an endpoint that fails is skipped for a while, idempotent \
            calls retried on another). An address given k times gets k times the connections, e.g. \
            a balancer's, so they can land on different servers behind it.
            """,
            valueName: "host:port[,host:port...]"
        )
    )
    var server: String = "127.0.0.1:\(Endpoint.defaultPort)"

    @Option(
        help: ArgumentHelp(
            "Attempts per call, the first included (1 = no retries; retries follow PROTOCOL.md §9).",
            valueName: "n"
        )
    )
    var attempts: Int = ModelwireClient.Configuration.defaults.retryPolicy.maxAttempts

    @Option(
        help: ArgumentHelp(
            "Bearer token for a server with --auth-file (default: $MODELWIRE_TOKEN; the environment keeps it out of ps).",
            valueName: "token"
        )
    )
    var token: String?

    @OptionGroup(title: "TLS") var tls: TLSOptions

    @Option(help: "Model name.")
    var model: String = "reference"

    @Option(help: "Model version (default: the latest).")
    var version: UInt32?

    @Option(help: "Rows per call.")
    var rows: Int = 1

    @Option(help: "Features per row for random inputs (ignored with --data).")
    var columns: Int = ReferenceModel.features

    @Option(
        help: ArgumentHelp(
            "Take feature rows from this CSV (last column = label, ignored) instead of random ones.",
            valueName: "file.csv"
        )
    )
    var data: String?

    @Flag(help: "Ask for per-class probabilities too (a bigger response).")
    var includeProbabilities = false

    @Option(help: ArgumentHelp("zlib compression of frames above the server's threshold.", valueName: "on|off"))
    var compression: OnOff = .on

    @Option(help: ArgumentHelp("Closed loop: calls in flight; a list is a sweep.", valueName: "n[,n...]"))
    var concurrency: String?

    @Option(help: ArgumentHelp("Open loop: calls started per second; a list is a sweep.", valueName: "r[,r...]"))
    var rate: String?

    @Option(help: "Open loop arrivals: constant or poisson.")
    var arrivals: OpenLoop.Arrivals = .constant

    @Option(help: "Connections per server (calls are multiplexed over them).")
    var connections: Int = ModelwireClient.Configuration.defaults.connectionsPerEndpoint

    @Option(help: "Seconds of warm-up before each step (not recorded).")
    var warmup: Double = 2

    @Option(help: "Seconds measured per step.")
    var duration: Double = 10

    @Option(help: "Measure this many calls per step instead of --duration.")
    var calls: Int?

    @Option(help: "Deadline of each call, seconds.")
    var timeout: Double = 30

    @Option(help: "Seed of the random features, the Poisson arrivals and the reference dataset.")
    var seed: UInt64 = 1

    @Flag(help: "Train the reference net on the server first, as a new version of --model.")
    var trainReference = false

    @Option(help: "Rows of the synthetic dataset for --train-reference.")
    var trainRows: Int = 4000

    @Option(help: "Epochs for --train-reference.")
    var trainEpochs: Int = 3

    @Option(
        help: ArgumentHelp(
            "Also report the CPU time of this process (e.g. the server) over each window.",
            valueName: "pid[,pid...]"
        )
    )
    var cpuPid: String?

    @Flag(help: "Print the results as JSON on stdout (the table goes to stderr).")
    var json = false

    @Option(
        help: ArgumentHelp(
            """
            How closed-loop workers call the client: event-loop = ModelwireClient.predictOnEventLoop, \
            each worker a chain of callbacks on the client's single event-loop thread (no task, no thread \
            hop per call); async = a Swift task per worker awaiting ModelwireClient.predict on Swift's \
            global pool, the client on NIO's shared loops (what an app gets by default). Open loop always uses async.
            """,
            valueName: "event-loop|async"
        )
    )
    var api: API = .eventLoop

    @Option(help: "Client log level (trace, debug, info, notice, warning, error, critical).")
    var logLevel: Logger.Level = .error

    enum OnOff: String, ExpressibleByArgument, Sendable { case on, off }
    enum API: String, ExpressibleByArgument, Sendable {
        case eventLoop = "event-loop"
        case async
    }

    func validate() throws {
        for address in self.servers {
            do { _ = try Endpoint(parsing: address) } catch { throw ValidationError("--server: \(error.message)") }
        }
        guard self.attempts > 0 else { throw ValidationError("--attempts must be at least 1") }
        if self.concurrency != nil && self.rate != nil {
            throw ValidationError("give --concurrency or --rate, not both")
        }
        if let list = self.concurrency, (try? Self.integers(list))?.allSatisfy({ $0 > 0 }) != true {
            throw ValidationError("--concurrency: a comma-separated list of positive integers")
        }
        if let list = self.rate, (try? Self.numbers(list))?.allSatisfy({ $0 > 0 }) != true {
            throw ValidationError("--rate: a comma-separated list of positive numbers")
        }
        guard self.rows > 0, self.columns > 0 else { throw ValidationError("--rows and --columns must be positive") }
        guard self.connections > 0 else { throw ValidationError("--connections must be positive") }
        guard self.warmup >= 0, self.duration > 0, self.timeout > 0 else {
            throw ValidationError("--warmup must be >= 0, --duration and --timeout > 0")
        }
        if let calls, calls <= 0 { throw ValidationError("--calls must be positive") }
        if let list = self.cpuPid, (try? Self.integers(list)) == nil {
            throw ValidationError("--cpu-pid: a list of process ids")
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .trace
            return handler
        }
        var logger = Logger(label: "modelwire-load")
        logger.logLevel = self.logLevel
        let configuration = ModelwireClient.Configuration.defaults {
            $0.connectionsPerEndpoint = self.connections
            $0.compression = self.compression == .on
            $0.defaultTimeout = .milliseconds(Int64(self.timeout * 1000))
            $0.retryPolicy.maxAttempts = self.attempts
            $0.bearerToken = self.token ?? ProcessInfo.processInfo.environment["MODELWIRE_TOKEN"]
            $0.tls = self.tls.settings
        }
        let report = Report(toStandardError: self.json)
        let group: MultiThreadedEventLoopGroup =
            self.api == .eventLoop
            ? MultiThreadedEventLoopGroup(numberOfThreads: 1) : .singleton
        let client = try ModelwireClient(
            endpoints: self.servers,
            configuration: configuration,
            eventLoopGroup: group,
            logger: logger
        )
        let driver: ClosedLoop.Driver = self.api == .eventLoop ? .eventLoop(group.next()) : .tasks
        do {
            let (steps, sizes) = try await self.runSteps(client: client, driver: driver, report: report)
            await client.shutdown()
            if self.api == .eventLoop { try? await group.shutdownGracefully() }
            if self.json {
                print(try Report.json(configuration: self.configurationSummary.merging(sizes) { $1 }, steps: steps))
            }
        } catch {
            await client.shutdown()
            report.note("modelwire-load: \(error)")
            throw ExitCode.failure
        }
    }

    /// Runs every step; returns the results and the request/response sizes of the first call.
    private func runSteps(
        client: ModelwireClient,
        driver: ClosedLoop.Driver,
        report: Report
    ) async throws -> ([StepResult], [String: String]) {
        if self.trainReference {
            report.note(
                "training the reference net (\(self.trainRows) synthetic rows, \(self.trainEpochs) epochs) as \(self.model)..."
            )
            let version = try await ReferenceModel.train(
                client: client,
                model: self.model,
                rows: self.trainRows,
                epochs: self.trainEpochs,
                seed: self.seed
            )
            report.note("trained \(self.model) version \(version)")
        }
        let modelRef = V1.ModelRef(name: self.model, selector: self.version.map { .version($0) })
        let workload =
            try self.data.map {
                try Workload.csv(
                    path: $0,
                    model: modelRef,
                    rows: self.rows,
                    includeProbabilities: self.includeProbabilities
                )
            }
            ?? Workload.random(
                model: modelRef,
                rows: self.rows,
                columns: self.columns,
                seed: self.seed,
                includeProbabilities: self.includeProbabilities
            )
        // One call first: a missing model or a bad shape fails here, clearly, instead of as a table of errors.
        let probe = try await client.predict(workload.request(0))
        let responseBytes = (try? probe.serializedBytes().count) ?? 0
        let sizes = ["requestBytes": "\(workload.requestBytes)", "responseBytes": "\(responseBytes)"]
        report.note(
            "\(self.model) v\(probe.version): \(workload.rows) rows x \(workload.columns) features from \(workload.source), "
                + "\(workload.requestBytes)/\(responseBytes) request/response bytes, compression \(self.compression.rawValue), "
                + "\(self.connections) connection(s), warm-up \(self.warmup) s, "
                + (self.calls.map { "\($0) calls" } ?? "\(self.duration) s") + " per step"
        )

        let plan = StepPlan(
            warmupSeconds: self.warmup,
            length: self.calls.map { StepPlan.Length.calls($0) } ?? .duration(seconds: self.duration),
            callOptions: .init(timeout: .milliseconds(Int64(self.timeout * 1000)))
        )
        let cpu = ProcessCPU(watching: try self.cpuPid.map(Self.integers)?.map { Int32($0) } ?? [])
        var results: [StepResult] = []
        report.header()
        if let rates = try self.rate.map(Self.numbers) {
            for rate in rates {
                let load = Self.loadAverage()
                let m = await OpenLoop.run(
                    client: client,
                    workload: workload,
                    rate: rate,
                    arrivals: self.arrivals,
                    seed: self.seed,
                    plan: plan,
                    cpu: cpu
                )
                let result = StepResult(
                    mode: "open",
                    concurrency: nil,
                    rate: rate,
                    arrivals: self.arrivals.rawValue,
                    connections: self.connections,
                    rows: workload.rows,
                    compression: self.compression == .on,
                    load: load,
                    measurement: m
                )
                report.row(result)
                results.append(result)
            }
        } else {
            for concurrency in try Self.integers(self.concurrency ?? "16") {
                let load = Self.loadAverage()
                let m = await ClosedLoop.run(
                    client: client,
                    workload: workload,
                    concurrency: concurrency,
                    plan: plan,
                    driver: driver,
                    cpu: cpu
                )
                let result = StepResult(
                    mode: "closed",
                    concurrency: concurrency,
                    rate: nil,
                    arrivals: nil,
                    connections: self.connections,
                    rows: workload.rows,
                    compression: self.compression == .on,
                    load: load,
                    measurement: m
                )
                report.row(result)
                results.append(result)
            }
        }
        return (results, sizes)
    }

    /// The addresses of `--server`.
    private var servers: [String] {
        self.server.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    private var configurationSummary: [String: String] {
        [
            "server": self.server, "attempts": "\(self.attempts)", "model": self.model,
            "version": self.version.map(String.init) ?? "latest",
            "rows": "\(self.rows)", "data": self.data ?? "random", "compression": self.compression.rawValue,
            "connections": "\(self.connections)", "api": self.api.rawValue, "warmupSeconds": "\(self.warmup)",
            "length": self.calls.map { "\($0) calls" } ?? "\(self.duration) s", "seed": "\(self.seed)",
        ]
    }

    static func integers(_ list: String) throws -> [Int] {
        try list.split(separator: ",").map {
            guard let value = Int($0.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("not an integer: \($0)")
            }
            return value
        }
    }

    static func numbers(_ list: String) throws -> [Double] {
        try list.split(separator: ",").map {
            guard let value = Double($0.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("not a number: \($0)")
            }
            return value
        }
    }

    /// The 1, 5 and 15-minute load averages (empty where unavailable).
    static func loadAverage() -> [Double] {
        var values = [Double](repeating: 0, count: 3)
        return getloadavg(&values, 3) == 3 ? values : []
    }
}

extension OpenLoop.Arrivals: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {}
