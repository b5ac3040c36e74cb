import Logging
import ModelwireCodec
import ModelwireProtocol
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One handshaken connection to one endpoint, shared by many concurrent calls.
///
/// Callers encode their REQUEST frame on their own thread and hand it to the channel with a
/// single `writeAndFlush`; the handler registers the call and writes it in the same event-loop
/// turn, and completes the caller's continuation straight from the event loop. A unary call
/// thus costs one hop to the event loop and one back, nothing more.
final class Connection: Sendable {
    let endpoint: Endpoint
    let channel: any Channel
    let serverHello: V1.ServerHello
    /// The server's limits (what we may send).
    let serverLimits: ProtocolLimits
    /// Encodes requests: compressed above the server's threshold when enabled.
    let sendCodec: FramePayloadCodec
    /// Decodes responses within the client's own limits.
    let receiveCodec: FramePayloadCodec
    private let nextCallID = Atomic<UInt32>(1)
    /// Calls open on this connection, kept under the server's `max_concurrent_calls`.
    let inFlight = Atomic<Int>(0)
    /// 0 ready, 1 draining, 2 closed; written by the handler (on the event loop) and by `close`.
    private let state: StateBox

    /// Called when a call ends on a full connection, or the connection closes: capacity may be free.
    let onRelease: @Sendable () -> Void

    private init(
        endpoint: Endpoint,
        channel: any Channel,
        serverHello: V1.ServerHello,
        compress: Bool,
        receiveLimits: ProtocolLimits,
        state: StateBox,
        onRelease: @escaping @Sendable () -> Void
    ) {
        self.onRelease = onRelease
        self.endpoint = endpoint
        self.channel = channel
        self.serverHello = serverHello
        let limits = serverHello.limits.map(ProtocolLimits.init) ?? .defaults
        self.serverLimits = limits
        self.sendCodec = FramePayloadCodec(limits: limits, peerAcceptsZlib: compress)
        self.receiveCodec = FramePayloadCodec(limits: receiveLimits, peerAcceptsZlib: compress, acceptsZlib: true)
        self.state = state
    }

    /// Whether new calls may start here.
    var isUsable: Bool { self.state.value.load(ordering: .relaxed) == 0 && self.channel.isActive }
    /// Whether another call fits under the server's `max_concurrent_calls`.
    var hasCapacity: Bool { self.inFlight.load(ordering: .relaxed) < self.serverLimits.maxConcurrentCalls }

    /// Takes one call's worth of capacity if there is some (the pool does this for each call;
    /// the call gives it back with `release()` on every path).
    func tryReserve() -> Bool {
        var current = self.inFlight.load(ordering: .relaxed)
        while current < self.serverLimits.maxConcurrentCalls {
            let (exchanged, original) = self.inFlight.compareExchange(
                expected: current,
                desired: current + 1,
                ordering: .relaxed
            )
            if exchanged { return true }
            current = original
        }
        return false
    }
    /// Whether the server sent GOAWAY (calls already open still finish).
    var isDraining: Bool { self.state.value.load(ordering: .relaxed) == 1 }
    /// Whether the connection is gone for good.
    var isClosed: Bool { self.state.value.load(ordering: .relaxed) == 2 }

    /// Connects, installs the pipeline and completes the handshake.
    /// - Throws: `ModelwireError`: `unavailable` when the endpoint cannot be reached in time, or
    ///   the server's handshake error.
    /// - Parameters:
    ///   - tls: The TLS context to open the connection with; nil = plaintext.
    ///   - limit: A shorter bound than `configuration.connectTimeout` (the first caller's deadline).
    static func connect(
        to endpoint: Endpoint,
        configuration: ModelwireClient.Configuration,
        tls: ClientTLSContext? = nil,
        limit: Duration? = nil,
        group: any EventLoopGroup,
        logger: Logger,
        onRelease: @escaping @Sendable () -> Void = {}
    ) async throws -> Connection {
        let state = StateBox()
        let receiveLimits = configuration.receiveLimits
        let hello = Handshake.clientHello(
            clientName: configuration.clientName,
            acceptsZlib: configuration.compression,
            credentials: configuration.bearerToken.map { V1.Credentials(bearerToken: $0) }
        )
        let keepalive = configuration.keepaliveInterval.map(TimeAmount.init)
        let connectTimeout = TimeAmount(min(configuration.connectTimeout, limit ?? configuration.connectTimeout))
        let eventLoop = group.next()
        let helloPromise = eventLoop.makePromise(of: V1.ServerHello.self)
        var connectionLogger = logger
        connectionLogger[metadataKey: "modelwire.endpoint"] = "\(endpoint)"
        let handlerLogger = connectionLogger
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let codec = FramePayloadCodec(limits: receiveLimits, peerAcceptsZlib: false)
                    let handler = ClientConnectionHandler(
                        hello: hello,
                        helloPromise: helloPromise,
                        codec: codec,
                        keepalive: keepalive,
                        logger: handlerLogger,
                        coalesceFlushes: true,
                        onEvent: { event in
                            switch event {
                            case .draining: state.value.store(1, ordering: .relaxed)
                            case .closed:
                                state.value.store(2, ordering: .relaxed)
                                onRelease()
                            }
                        }
                    )
                    if let tls { try channel.pipeline.syncOperations.addHandler(try tls.handler(host: endpoint.host)) }
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(FrameDecoder(maxPayloadBytes: receiveLimits.maxFrameBytes)),
                        handler,
                    ])
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: endpoint.host, port: endpoint.port).get()
        } catch {
            let failure = ModelwireError(.unavailable, "cannot connect to \(endpoint): \(Self.describe(error))")
            helloPromise.fail(failure)
            throw failure
        }
        // The handshake gets the connect timeout too.
        let timeout = eventLoop.scheduleTask(in: connectTimeout) {
            helloPromise.fail(ModelwireError(.unavailable, "no HELLO from \(endpoint) within the connect timeout"))
        }
        do {
            let serverHello = try await helloPromise.futureResult.get()
            timeout.cancel()
            connectionLogger.debug("connected", metadata: ["modelwire.server": "\(serverHello.serverName)"])
            return Connection(
                endpoint: endpoint,
                channel: channel,
                serverHello: serverHello,
                compress: configuration.compression,
                receiveLimits: receiveLimits,
                state: state,
                onRelease: onRelease
            )
        } catch {
            timeout.cancel()
            channel.close(promise: nil)
            if let cause = (error as? ModelwireError)?.cause,
                let failure = ClientTLSContext.failure(cause, endpoint: "\(endpoint)")
            {
                throw failure
            }
            if let error = error as? ModelwireError { throw error }
            throw ModelwireError(.unavailable, "handshake with \(endpoint) failed: \(error)", cause: error)
        }
    }

    /// A connect failure in a few words ("connection refused", "connect timed out").
    static func describe(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return Self.describe(first.error) }
            if let dns = error.dnsAError ?? error.dnsAAAAError { return "cannot resolve \(error.host): \(dns)" }
            return "no address for \(error.host)"
        }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        if let error = error as? ChannelError, case .connectTimeout = error { return "connect timed out" }
        return "\(error)"
    }

    /// The connection state, shared with the handler's event callback.
    private final class StateBox: Sendable {
        let value = Atomic<UInt8>(0)
    }

    /// The next call id, or nil when the id space is used up (the connection then drains).
    func allocateCallID() -> UInt32? {
        let id = self.nextCallID.wrappingAdd(1, ordering: .relaxed).oldValue
        guard id != 0, id < UInt32.max else {
            self.state.value.store(1, ordering: .relaxed)
            return nil
        }
        return id
    }

    func close() {
        self.state.value.store(2, ordering: .relaxed)
        self.channel.close(promise: nil)
    }
}
