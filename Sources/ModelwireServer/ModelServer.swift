import Foundation
import Logging
import ModelwireCodec
import ModelwireProtocol
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The Modelwire server: binds, serves the v1 protocol on every connection, and shuts down
/// gracefully (GOAWAY to every client, in-flight calls finish within the grace period, running
/// training jobs are cancelled cleanly).
///
/// Run it as a `Service` in a `ServiceGroup` (graceful shutdown on SIGTERM/SIGINT), or call
/// `run()` directly, e.g. in tests, and cancel the task to stop it. Everything it starts (event
/// loops, worker and training threads) is started in `run()` and released before `run()`
/// returns or throws.
public final class ModelServer: Service, Sendable {
    /// The version of this build.
    public static let version = "0.1.0"

    public let configuration: ServerConfiguration
    private let logger: Logger
    private let onListening: (@Sendable (SocketAddress) -> Void)?

    /// Creates a server; nothing is started until `run()`.
    /// - Parameters:
    ///   - configuration: What to bind and serve.
    ///   - logger: Where the server logs (it never bootstraps logging itself).
    ///   - onListening: Called once with the bound address (useful with port 0).
    public init(
        configuration: ServerConfiguration,
        logger: Logger,
        onListening: (@Sendable (SocketAddress) -> Void)? = nil
    ) {
        self.configuration = configuration
        self.logger = logger
        self.onListening = onListening
    }

    /// Binds, loads the repository, serves until graceful shutdown (or task cancellation), then drains.
    /// - Throws: `ServerRuntimeError` when the address cannot be bound or the repository cannot be used.
    public func run() async throws {
        let threads = max(1, configuration.eventLoopThreads)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let workers = NIOThreadPool(numberOfThreads: threads)
        workers.start()
        let service = ModelService(configuration: configuration, logger: logger)
        let runtime = Runtime(group: group, workers: workers, service: service)
        do {
            try await serve(runtime)
        } catch {
            await runtime.shutdown()
            throw error
        }
        await runtime.shutdown()
        logger.info("stopped")
    }

    /// What one `run()` owns.
    private struct Runtime: Sendable {
        let group: MultiThreadedEventLoopGroup
        let workers: NIOThreadPool
        let service: ModelService
        let connections = ConnectionRegistry()

        /// Stops the jobs, the worker pool and the event loops.
        func shutdown() async {
            await service.jobs.shutdown()
            try? await workers.shutdownGracefully()
            try? await group.shutdownGracefully()
        }
    }

    private func serve(_ runtime: Runtime) async throws {
        let service = runtime.service
        try await runtime.workers.runIfActive {
            do {
                try DurableFiles.makeDirectory(service.configuration.repositoryPath)
                try service.jobs.load()
                try service.datasets.load()
            } catch {
                let reason = (error as? DurableFiles.Failure)?.reason ?? "\(error)"
                throw ServerRuntimeError(
                    .repositoryUnusable,
                    "cannot use repository \(service.configuration.repositoryPath): \(reason)",
                    cause: error
                )
            }
        }
        let listener = try await bind(runtime)
        guard let address = listener.localAddress else {
            throw ServerRuntimeError(.bindFailed, "bound without a local address")
        }
        logger.info("listening", metadata: ["modelwire.address": "\(address)"])
        onListening?(address)
        let logger = self.logger
        let memoryInterval = configuration.memoryReturnIntervalMilliseconds
        let memoryReturn = Task {
            guard memoryInterval > 0 else { return }
            await MemoryReturn.defaults.run(every: memoryInterval, on: runtime.workers, logger: logger)
        }
        defer { memoryReturn.cancel() }
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                // Blocking disk reads: on the worker pool, while the listener already answers (not ready until loaded).
                do { _ = try await runtime.workers.runIfActive { try service.repository.load() } } catch {
                    logger.error("repository failed to load: \(error)")
                }
            }
            await withGracefulShutdownHandler {
                await withTaskCancellationHandler {
                    try? await listener.closeFuture.get()
                } onCancel: {
                    listener.close(promise: nil)
                }
            } onGracefulShutdown: {
                listener.close(promise: nil)
            }
            await tasks.waitForAll()
        }
        await drain(runtime, listener: listener)
    }

    private func bind(_ runtime: Runtime) async throws -> any Channel {
        let service = runtime.service
        let workers = runtime.workers
        var batchers: [ObjectIdentifier: NIOLoopBound<PredictBatcher>] = [:]
        for loop in runtime.group.makeIterator() {
            let settings = configuration.batching
            batchers[ObjectIdentifier(loop)] = try await loop.submit {
                NIOLoopBound(PredictBatcher(eventLoop: loop, settings: settings), eventLoop: loop)
            }.get()
        }
        let loopBatchers = batchers
        let logger = self.logger
        let limits = configuration.limits
        let connections = runtime.connections
        let bootstrap = ServerBootstrap(group: runtime.group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            // Unsent answers above 1 MiB make the channel unwritable: the connection stops reading
            // (BackPressureHandler) and holds what it read until the peer reads again.
            .childChannelOption(
                .writeBufferWaterMark,
                value: ChannelOptions.Types.WriteBufferWaterMark(low: 256 << 10, high: 1 << 20)
            )
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let batcher = loopBatchers[ObjectIdentifier(channel.eventLoop)]!.value
                    let handlers = channel.pipeline.syncOperations
                    try handlers.addHandler(BackPressureHandler())
                    try handlers.addHandler(
                        IdleStateHandler(allTimeout: .milliseconds(Int64(limits.idleTimeoutMilliseconds)))
                    )
                    try handlers.addHandler(ByteToMessageHandler(FrameDecoder(maxPayloadBytes: limits.maxFrameBytes)))
                    try handlers.addHandler(
                        ServerConnectionHandler(
                            service: service,
                            workers: workers,
                            batcher: batcher,
                            logger: logger
                        )
                    )
                    connections.add(channel)
                }
            }
        do {
            return try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        } catch {
            let reason = (error as? IOError).map { String(cString: strerror($0.errnoCode)).lowercased() } ?? "\(error)"
            throw ServerRuntimeError(
                .bindFailed,
                "cannot listen on \(configuration.host):\(configuration.port): \(reason)",
                cause: error
            )
        }
    }

    /// Stops accepting, sends GOAWAY, waits for the connections to close (their calls finish) up
    /// to the grace period, stopping training jobs shortly before its end, then closes what is left.
    private func drain(_ runtime: Runtime, listener: any Channel) async {
        runtime.service.isDraining = true
        try? await listener.close()
        let open = runtime.connections.all
        logger.info("draining", metadata: ["modelwire.connections": "\(open.count)"])
        for channel in open { channel.pipeline.fireUserInboundEventTriggered(ServerConnectionHandler.DrainEvent()) }
        let loop = runtime.group.any()
        let grace = TimeAmount.milliseconds(Int64(configuration.shutdownGracePeriodMilliseconds))
        // Training jobs get the grace period too, less a margin in which their streams are told
        // they were stopped (UNAVAILABLE, at the next batch boundary) before connections close.
        let jobs = runtime.service.jobs
        let margin = TimeAmount.milliseconds(min(1000, Int64(configuration.shutdownGracePeriodMilliseconds) / 4))
        // Not Task.sleep: the task may be cancelled (that is how tests stop the server) and must still wait.
        let stopJobs = loop.scheduleTask(in: grace - margin) { jobs.stopForShutdown() }
        let timer = loop.scheduleTask(in: grace) { for channel in open { channel.close(promise: nil) } }
        try? await EventLoopFuture.andAllComplete(open.map(\.closeFuture), on: loop).get()
        stopJobs.cancel()
        timer.cancel()
        for channel in runtime.connections.all { try? await channel.close() }
    }
}

/// The open connections, so that a drain can reach each of them.
final class ConnectionRegistry: Sendable {
    private let channels = Mutex([ObjectIdentifier: any Channel]())

    /// Tracks `channel` until it closes.
    func add(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        channels.withLock { $0[key] = channel }
        channel.closeFuture.whenComplete { [self] _ in _ = self.channels.withLock { $0.removeValue(forKey: key) } }
    }

    var all: [any Channel] { channels.withLock { Array($0.values) } }
}
