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
/// `run(onListening:)` directly, e.g. in tests, and cancel the task to stop it.
public final class ModelServer: Service, Sendable {
    /// The version of this build.
    public static let version = "0.1.0"

    public let configuration: ServerConfiguration
    private let context: ServerContext
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    private let onListening: (@Sendable (SocketAddress) -> Void)?
    private let channels = ConnectionRegistry()

    /// Creates a server; nothing is bound until `run()`.
    /// - Parameters:
    ///   - configuration: What to bind and serve.
    ///   - logger: Where the server logs (it never bootstraps logging itself).
    ///   - onListening: Called once with the bound address (useful with port 0).
    public init(configuration: ServerConfiguration, logger: Logger, onListening: (@Sendable (SocketAddress) -> Void)? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.onListening = onListening
        self.context = ServerContext(configuration: configuration, logger: logger)
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.eventLoopThreads))
    }

    /// Binds, loads the repository, serves until graceful shutdown (or task cancellation), then drains.
    public func run() async throws {
        try context.jobs.load()
        try context.datasets.load()
        var batchers: [ObjectIdentifier: NIOLoopBound<PredictBatcher>] = [:]
        for loop in group.makeIterator() {
            let settings = configuration.batching
            batchers[ObjectIdentifier(loop)] = try await loop.submit {
                NIOLoopBound(PredictBatcher(eventLoop: loop, settings: settings), eventLoop: loop)
            }.get()
        }
        let server = self.context
        let serverBatchers = batchers
        let logger = self.logger
        let limits = configuration.limits
        let channels = self.channels
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let batcher = serverBatchers[ObjectIdentifier(channel.eventLoop)]!.value
                    let handlers = channel.pipeline.syncOperations
                    try handlers.addHandler(IdleStateHandler(allTimeout: .milliseconds(Int64(limits.idleTimeoutMilliseconds))))
                    try handlers.addHandler(ByteToMessageHandler(FrameDecoder(maxPayloadBytes: limits.maxFrameBytes)))
                    try handlers.addHandler(ServerConnectionHandler(server: server, batcher: batcher, logger: logger))
                    channels.add(channel)
                }
            }
        let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        guard let address = channel.localAddress else { throw ModelwireError(.internal, "bound without a local address") }
        logger.info("listening", metadata: ["modelwire.address": "\(address)"])
        onListening?(address)
        let loadTask = Task.detached { [context] in
            do { try context.repository.load() } catch { logger.error("repository failed to load: \(error)") }
        }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                try? await channel.closeFuture.get()
            } onCancel: {
                channel.close(promise: nil)
            }
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
        await loadTask.value
        await drain(listener: channel)
    }

    /// Stops accepting, sends GOAWAY, waits for in-flight calls up to the grace period, cancels jobs.
    private func drain(listener: any Channel) async {
        context.isDraining = true
        try? await listener.close()
        let open = channels.all
        logger.info("draining", metadata: ["modelwire.connections": "\(open.count)"])
        for channel in open { channel.pipeline.fireUserInboundEventTriggered(ServerConnectionHandler.DrainEvent()) }
        let deadline = ContinuousClock.now + .milliseconds(configuration.shutdownGracePeriodMilliseconds)
        while !channels.all.isEmpty, ContinuousClock.now < deadline {
            // Not Task.sleep: the task may be cancelled (that is how tests stop the server) and must still wait.
            try? await group.any().scheduleTask(in: .milliseconds(20)) {}.futureResult.get()
        }
        for channel in channels.all { try? await channel.close() }
        await context.jobs.shutdown()
        try? await context.workers.shutdownGracefully()
        try? await group.shutdownGracefully()
        logger.info("stopped")
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
