import Foundation
import Logging
import ModelwireCodec
import ModelwireProtocol
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Prometheus
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
    private let onHTTPListening: (@Sendable (SocketAddress) -> Void)?
    private let authenticator: Authenticator
    private let tls: ServerTLSContext?
    private let connections = ConnectionRegistry()
    /// The HTTP port's connections, under the same caps as the binary port's (and apart from them:
    /// a drain waits for the binary connections only).
    private let httpConnections = ConnectionRegistry()

    /// Creates a server; nothing is started until `run()`.
    /// - Parameters:
    ///   - configuration: What to bind and serve.
    ///   - logger: Where the server logs (it never bootstraps logging itself).
    ///   - onListening: Called once with the bound address (useful with port 0).
    ///   - onHTTPListening: Called once with the HTTP port's address (`configuration.http.port`),
    ///     right after `onListening`.
    public init(
        configuration: ServerConfiguration,
        logger: Logger,
        onListening: (@Sendable (SocketAddress) -> Void)? = nil,
        onHTTPListening: (@Sendable (SocketAddress) -> Void)? = nil
    ) {
        self.configuration = configuration
        self.logger = logger
        self.onListening = onListening
        self.onHTTPListening = onHTTPListening
        self.authenticator = Authenticator(path: configuration.authentication.authFile)
        self.tls = configuration.tls.map(ServerTLSContext.init)
    }

    /// Reads the TLS certificate, key and client CA files again (on SIGHUP): new connections
    /// use them, open ones keep theirs. Files that cannot be used are logged and the previous
    /// certificates stay in force.
    /// - Returns: Whether new certificates are in force.
    @discardableResult
    public func reloadCertificates() -> Bool {
        guard let tls else { return false }
        do {
            try tls.reload()
            logger.notice("reloaded the TLS certificates")
            return true
        } catch {
            logger.error("the TLS certificates were not reloaded; the previous ones stay in force: \(error)")
            return false
        }
    }

    /// Reads the token file again (on SIGHUP) without dropping connections: a connection whose
    /// token is no longer in it gets GOAWAY and drains; one whose role changed gets the new role.
    /// A file that cannot be read or parsed is logged and the previous tokens stay in force.
    /// - Returns: Whether new tokens are in force.
    @discardableResult
    public func reloadCredentials() -> Bool {
        guard authenticator.isEnabled else { return false }
        do {
            let tokens = try authenticator.reload()
            logger.notice("reloaded the auth file", metadata: ["modelwire.tokens": "\(tokens.entries.count)"])
            for channel in connections.all {
                channel.pipeline.fireUserInboundEventTriggered(
                    ServerConnectionHandler.CredentialsReloaded(tokens: tokens)
                )
            }
            return true
        } catch {
            logger.error("the auth file was not reloaded; the previous tokens stay in force: \(error)")
            return false
        }
    }

    /// Refuses a configuration that would serve everyone on a reachable address (docs/security.md),
    /// and loads the token file.
    private func checkSecurity() throws {
        let auth = configuration.authentication
        if auth.authFile == nil, !Self.isLoopback(configuration.host) {
            guard auth.insecureNoAuth else {
                throw ServerRuntimeError(
                    .insecureConfiguration,
                    "refusing to listen on \(configuration.host) without --auth-file: anyone who can reach it could "
                        + "train, delete and export models (pass --insecure-no-auth to do so anyway)"
                )
            }
            logger.warning(
                """
                listening on a non-loopback address without authentication (--insecure-no-auth): \
                anyone who can reach it may train, delete and export models
                """,
                metadata: ["modelwire.address": "\(configuration.host)"]
            )
        }
        do {
            let tokens = try authenticator.reload()
            if authenticator.isEnabled {
                logger.info("authentication on", metadata: ["modelwire.tokens": "\(tokens.entries.count)"])
            }
        } catch {
            throw ServerRuntimeError(.authFileInvalid, "\(error)", cause: error)
        }
        if let tls {
            try tls.reload()
            logger.info(
                "TLS on",
                metadata: ["modelwire.clientCertificates": "\(tls.files.clientCAFile == nil ? "off" : "required")"]
            )
        }
    }

    /// Whether `host` is a loopback address (127.0.0.0/8, ::1, localhost).
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// Binds, loads the repository, serves until graceful shutdown (or task cancellation), then drains.
    /// - Throws: `ServerRuntimeError` when the address cannot be bound or the repository cannot be used.
    public func run() async throws {
        try checkSecurity()
        let threads = max(1, configuration.eventLoopThreads)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let workers = NIOThreadPool(numberOfThreads: threads)
        workers.start()
        // Metrics on a registry of this server's own (issue 13): several servers in one process keep apart.
        let metricsFactory =
            configuration.http.metricsEnabled ? HTTPServer.metricsFactory(PrometheusCollectorRegistry()) : nil
        let metrics = metricsFactory.map { ServerMetrics(factory: $0) }
        let service = ModelService(
            configuration: configuration,
            logger: logger,
            authenticator: authenticator,
            metrics: metrics
        )
        let runtime = Runtime(
            group: group,
            workers: workers,
            service: service,
            connections: connections,
            metricsFactory: metricsFactory
        )
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
        let connections: ConnectionRegistry
        let metricsFactory: ServerMetricsFactory?

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
        var batchers: [ObjectIdentifier: NIOLoopBound<PredictBatcher>] = [:]
        for loop in runtime.group.makeIterator() {
            let settings = configuration.batching
            let metrics = service.metrics
            batchers[ObjectIdentifier(loop)] = try await loop.submit {
                NIOLoopBound(PredictBatcher(eventLoop: loop, settings: settings, metrics: metrics), eventLoop: loop)
            }.get()
        }
        let listener = try await bind(runtime, batchers: batchers)
        guard let address = listener.localAddress else {
            throw ServerRuntimeError(.bindFailed, "bound without a local address")
        }
        var httpListener: (any Channel)?
        if let httpPort = configuration.http.port {
            let http = try await HTTPServer.bind(
                host: configuration.host,
                port: httpPort,
                group: runtime.group,
                shared: HTTPContext(
                    service: service,
                    workers: runtime.workers,
                    settings: configuration.http,
                    metricsFactory: runtime.metricsFactory,
                    logger: logger
                ),
                batchers: batchers,
                tls: tls,
                connections: httpConnections,
                admission: ConnectionRegistry.Admission(
                    maxConnections: configuration.maxConnections,
                    maxPerAddress: configuration.maxConnectionsPerAddress
                )
            )
            httpListener = http
        }
        logger.info("listening", metadata: ["modelwire.address": "\(address)"])
        onListening?(address)
        if let httpAddress = httpListener?.localAddress {
            logger.info("listening (HTTP)", metadata: ["modelwire.address": "\(httpAddress)"])
            onHTTPListening?(httpAddress)
        }
        let logger = self.logger
        let memoryInterval = configuration.memoryReturnIntervalMilliseconds
        let memoryReturn = Task {
            guard memoryInterval > 0 else { return }
            await MemoryReturn.defaults.run(every: memoryInterval, on: runtime.workers, logger: logger)
        }
        defer { memoryReturn.cancel() }
        let pollInterval = configuration.repositoryPollMilliseconds
        let repositoryPoll = Task {
            guard pollInterval > 0 else { return }
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(pollInterval))
                guard !Task.isCancelled, service.repository.isLoaded else { continue }
                _ = try? await runtime.workers.runIfActive {
                    service.repository.refresh()
                    service.datasets.refresh()
                    service.jobs.refresh()
                }
            }
        }
        defer { repositoryPoll.cancel() }
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
        try? await httpListener?.close()  // open during the drain: readiness answers 503 meanwhile
    }

    private func bind(
        _ runtime: Runtime,
        batchers loopBatchers: [ObjectIdentifier: NIOLoopBound<PredictBatcher>]
    ) async throws -> any Channel {
        let service = runtime.service
        let workers = runtime.workers
        let logger = self.logger
        let limits = configuration.limits
        let connections = runtime.connections
        let frameTimeout = configuration.frameTimeoutMilliseconds
        let tls = self.tls
        let admission = ConnectionRegistry.Admission(
            maxConnections: configuration.maxConnections,
            maxPerAddress: configuration.maxConnectionsPerAddress
        )
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
                    // TLS first: everything after it, a refusal too, is said inside TLS.
                    if let tls { try handlers.addHandler(TLSDetectHandler(tls: tls, limits: limits, logger: logger)) }
                    if let refusal = connections.admit(channel, admission) {
                        logger.notice("refused a connection: \(refusal.message)")
                        let answer = RefuseConnectionHandler.errorFrame(refusal, limits: limits)
                        try handlers.addHandler(RefuseConnectionHandler(answer: answer, afterTLS: tls != nil))
                        return
                    }
                    try handlers.addHandler(BackPressureHandler())
                    try handlers.addHandler(
                        IdleStateHandler(allTimeout: .milliseconds(Int64(limits.idleTimeoutMilliseconds)))
                    )
                    try handlers.addHandler(FrameTimeoutHandler(milliseconds: frameTimeout))
                    try handlers.addHandler(ByteToMessageHandler(FrameDecoder(maxPayloadBytes: limits.maxFrameBytes)))
                    try handlers.addHandler(
                        ServerConnectionHandler(
                            service: service,
                            workers: workers,
                            batcher: batcher,
                            logger: logger
                        )
                    )
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

/// The open connections, so that a drain or a token reload can reach each of them, and the
/// connection caps (`--max-connections`, `--max-connections-per-address`).
final class ConnectionRegistry: Sendable {
    /// The caps a new connection is admitted under; 0 = no cap.
    struct Admission: Sendable {
        var maxConnections: Int
        var maxPerAddress: Int
    }

    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var perAddress: [String: Int] = [:]
    }

    private let state = Mutex(State())

    /// Tracks `channel` until it closes, unless a cap is reached: then the error to refuse it with.
    func admit(_ channel: any Channel, _ admission: Admission) -> ModelwireError? {
        let key = ObjectIdentifier(channel)
        let address = channel.remoteAddress?.ipAddress ?? "?"
        let refusal: ModelwireError? = state.withLock { state in
            if admission.maxConnections > 0, state.channels.count >= admission.maxConnections {
                return ModelwireError(
                    .resourceExhausted,
                    "the server has \(admission.maxConnections) connections open (--max-connections); try again later",
                    retryAfterMilliseconds: 1000
                )
            }
            if admission.maxPerAddress > 0, state.perAddress[address, default: 0] >= admission.maxPerAddress {
                return ModelwireError(
                    .resourceExhausted,
                    "\(address) has \(admission.maxPerAddress) connections open (--max-connections-per-address)",
                    retryAfterMilliseconds: 1000
                )
            }
            state.channels[key] = channel
            state.perAddress[address, default: 0] += 1
            return nil
        }
        guard refusal == nil else { return refusal }
        channel.closeFuture.whenComplete { [self] _ in
            self.state.withLock { state in
                state.channels[key] = nil
                let left = state.perAddress[address, default: 1] - 1
                state.perAddress[address] = left > 0 ? left : nil
            }
        }
        return nil
    }

    var all: [any Channel] { state.withLock { Array($0.channels.values) } }
}

/// Answers a connection over a cap, then closes it: ERROR resource_exhausted on call 0 on the
/// binary port, `503` with the V2 error JSON on the HTTP port.
final class RefuseConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let answer: ByteBuffer
    private let afterTLS: Bool

    /// - Parameters:
    ///   - answer: The bytes to send (`errorFrame`, `httpError`).
    ///   - afterTLS: Answer once the TLS handshake is done (closing after 2 s if it is not).
    init(answer: ByteBuffer, afterTLS: Bool) {
        self.answer = answer
        self.afterTLS = afterTLS
    }

    /// `error` as an ERROR frame on call 0.
    static func errorFrame(_ error: ModelwireError, limits: ProtocolLimits) -> ByteBuffer {
        var buffer = ByteBuffer()
        try? FramePayloadCodec(limits: limits, peerAcceptsZlib: false).writeFrame(
            error.status,
            kind: .error,
            into: &buffer
        )
        return buffer
    }

    /// `error` as an HTTP/1.1 `503` with the V2 error JSON and `Connection: close`.
    static func httpError(_ error: ModelwireError) -> ByteBuffer {
        let body = "{\"error\":\(InferenceProtocol.quote(error.message))}"
        let retry = error.retryAfterMilliseconds.map { "Retry-After: \(max(1, ($0 + 999) / 1000))\r\n" } ?? ""
        return ByteBuffer(
            string: "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\(retry)"
                + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        )
    }

    func channelActive(context: ChannelHandlerContext) {
        if afterTLS {
            let channel = context.channel
            context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
        } else {
            refuse(context: context)
        }
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if afterTLS, case .handshakeCompleted = event as? TLSUserEvent { refuse(context: context) }
        context.fireUserInboundEventTriggered(event)
    }

    private func refuse(context: ChannelHandlerContext) {
        let channel = context.channel
        context.writeAndFlush(NIOAny(answer)).whenComplete { _ in channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}  // nothing it sends is read
}

@available(*, unavailable)
extension RefuseConnectionHandler: Sendable {}
