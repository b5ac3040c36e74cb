import Dispatch
public import Logging
public import ModelwireCodec
import ModelwireProtocol
public import NIOCore
public import NIOPosix  // default arguments name MultiThreadedEventLoopGroup.singleton

/// The Modelwire client other Swift services embed: async/await calls over a small pool of
/// multiplexed connections to one or more servers.
///
/// Long-lived: create one per process (or use ``withModelwireClient(endpoints:configuration:eventLoopGroup:logger:isolation:_:)``),
/// share it between tasks, and ``shutdown()`` it at the end. Every call:
/// - has a deadline (`CallOptions.timeout`, else `Configuration.defaultTimeout` for unary calls),
///   sent to the server and enforced locally;
/// - sends CANCEL and throws `cancelled` when its task is cancelled;
/// - throws `ModelwireError` carrying the status code;
/// - is retried only where safe (`RetryPolicy`), within its deadline.
public final class ModelwireClient: Sendable {
    /// The servers, tried round-robin.
    public let endpoints: [Endpoint]
    /// The settings in force.
    public let configuration: Configuration
    let pool: ConnectionPool
    let logger: Logger

    /// Creates a client. No connection is made until the first call.
    /// - Parameters:
    ///   - endpoints: Server addresses; at least one.
    ///   - configuration: Pool size, timeouts, retries, compression.
    ///   - eventLoopGroup: Where connections run; NIO's shared singleton by default.
    ///   - logger: Connection events at debug level.
    /// - Precondition: `endpoints` is not empty.
    public init(
        endpoints: [Endpoint],
        configuration: Configuration = .defaults,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        precondition(!endpoints.isEmpty, "a ModelwireClient needs at least one endpoint")
        self.endpoints = endpoints
        self.configuration = configuration
        self.logger = logger
        self.pool = ConnectionPool(
            endpoints: endpoints,
            configuration: configuration,
            group: eventLoopGroup,
            logger: logger
        )
    }

    /// Creates a client from `host:port` strings.
    /// - Throws: `ModelwireError` (`invalidArgument`) for an address that does not parse, or none at all.
    public convenience init(
        endpoints: [String],
        configuration: Configuration = .defaults,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) throws {
        var parsed: [Endpoint] = []
        for text in endpoints { parsed.append(try Endpoint(parsing: text)) }
        guard !parsed.isEmpty else { throw ModelwireError(.invalidArgument, "no server address given") }
        self.init(endpoints: parsed, configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// Closes every connection. Calls still open fail with `unavailable`; later calls too.
    public func shutdown() async {
        await self.pool.close()
    }

    // MARK: - generic calls

    private static func descriptor(_ method: V1.Method) -> MethodDescriptor {
        MethodDescriptor.lookup(UInt16(truncatingIfNeeded: method.rawValue))!
    }

    /// Runs `attempt` until it succeeds or the retry policy gives up.
    /// - Parameter failed: The outcome of a first attempt made elsewhere (`unaryOnEventLoop`):
    ///   the policy continues from it instead of making a first attempt.
    func withRetries<R>(
        _ descriptor: MethodDescriptor,
        options: CallOptions,
        deadline: Deadline,
        after failed: (any Error)? = nil,
        _ attempt: (Deadline.Remaining) async throws -> R
    ) async throws -> R {
        let policy = options.retryPolicy ?? self.configuration.retryPolicy
        var number = 1
        var earlier = failed
        while true {
            let error: ModelwireError
            let sent: Bool
            do {
                if let failure = earlier {
                    earlier = nil
                    throw failure
                }
                return try await attempt(try deadline.remaining())
            } catch let failure as NotSent {
                (error, sent) = (failure.error, false)
            } catch let failure as ModelwireError {
                (error, sent) = (failure, true)
            } catch is CancellationError {
                throw ModelwireError(.cancelled, "call cancelled")
            } catch {
                throw ModelwireError(.internal, "\(error)", cause: error)
            }
            if Task.isCancelled { throw ModelwireError(.cancelled, "call cancelled") }
            guard error.code != .cancelled, error.code != .deadlineExceeded,
                let delay = policy.delay(
                    after: error,
                    attempt: number,
                    idempotent: descriptor.idempotent,
                    requestSent: sent
                ),
                !deadline.wouldExpire(after: delay)
            else { throw error }
            self.logger.debug(
                "retrying call",
                metadata: [
                    "modelwire.method": "\(descriptor.name)", "modelwire.attempt": "\(number + 1)", "error": "\(error)",
                ]
            )
            number += 1
            ClientMetrics.shared.retried(descriptor.id)
            if delay > .zero {
                do { try await Task.sleep(for: delay) } catch { throw ModelwireError(.cancelled, "call cancelled") }
            }
        }
    }

    /// A unary call with deadline, cancellation and retries.
    /// - Parameters:
    ///   - deadline: The call's deadline when it started elsewhere (`unaryOnEventLoop`).
    ///   - failed: How that first attempt failed: retries continue from it.
    func unary<Request: ProtobufMessage, Response: ProtobufMessage>(
        _ method: V1.Method,
        _ request: Request,
        as: Response.Type,
        options: CallOptions,
        deadline: Deadline? = nil,
        after failed: (any Error)? = nil
    ) async throws -> Response {
        let descriptor = Self.descriptor(method)
        let deadline = deadline ?? self.deadline(options)
        let request = options.stamped(request)
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            let response = try await self.withRetries(descriptor, options: options, deadline: deadline, after: failed) {
                remaining in
                let connection = try await self.pool.connection(limit: remaining.duration)
                let frame = try await connection.unary(descriptor, request, deadline: deadline)
                return try Self.decode(frame, as: Response.self, codec: connection.receiveCodec)
            }
            ClientMetrics.shared.callFinished(descriptor.id, status: .ok, started: started)
            return response
        } catch {
            let code = (error as? ModelwireError)?.code ?? .internal
            ClientMetrics.shared.callFinished(descriptor.id, status: code, started: started)
            throw error
        }
    }

    /// The event-loop form of `unary`: on a ready connection with room, the call starts on the
    /// calling thread and completes on the connection's event loop, decoded there, with no task
    /// and no hop. Otherwise (connecting, every connection full), and after a failed attempt, it
    /// continues as the async call under the same deadline, whose retry policy decides from
    /// that failure (a failure it does not retry is the result, as for the async call).
    func unaryOnEventLoop<Request: ProtobufMessage, Response: ProtobufMessage>(
        _ method: V1.Method,
        _ request: Request,
        as: Response.Type,
        options: CallOptions
    ) -> EventLoopFuture<Response> {
        let deadline = self.deadline(options)
        let request = options.stamped(request)
        guard let connection = self.pool.readyConnection() else {
            return self.unaryInTask(
                method,
                request,
                as: Response.self,
                options: options,
                deadline: deadline,
                on: self.pool.group.any()
            )
        }
        let codec = connection.receiveCodec
        let eventLoop = connection.channel.eventLoop
        let result = eventLoop.makePromise(of: Response.self)
        let descriptor = Self.descriptor(method)
        let started = DispatchTime.now().uptimeNanoseconds
        connection.startUnary(descriptor, request, deadline: deadline) { outcome in
            switch outcome {
            case .success(let frame):
                // A failure continues in `unary`, which counts the call's final outcome.
                ClientMetrics.shared.callFinished(descriptor.id, status: .ok, started: started)
                result.completeWith(Result { try Self.decode(frame, as: Response.self, codec: codec) })
            case .failure(let error):
                result.completeWith(
                    self.unaryInTask(
                        method,
                        request,
                        as: Response.self,
                        options: options,
                        deadline: deadline,
                        after: error,
                        on: eventLoop
                    )
                )
            }
        }
        return result.futureResult
    }

    private func unaryInTask<Request: ProtobufMessage, Response: ProtobufMessage>(
        _ method: V1.Method,
        _ request: Request,
        as: Response.Type,
        options: CallOptions,
        deadline: Deadline,
        after failed: (any Error)? = nil,
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<Response> {
        let promise = eventLoop.makePromise(of: Response.self)
        promise.completeWithTask {
            try await self.unary(
                method,
                request,
                as: Response.self,
                options: options,
                deadline: deadline,
                after: failed
            )
        }
        return promise.futureResult
    }

    private func deadline(_ options: CallOptions) -> Deadline {
        Deadline(timeout: options.timeout ?? self.configuration.defaultTimeout)
    }

    /// Opens a server-streaming call (retried only while opening).
    func serverStream<Request: ProtobufMessage>(
        _ method: V1.Method,
        _ request: Request,
        options: CallOptions
    ) async throws -> TrainEvents {
        let descriptor = Self.descriptor(method)
        let deadline = Deadline(timeout: options.timeout)
        let request = options.stamped(request)
        return try await self.withRetries(descriptor, options: options, deadline: deadline) { remaining in
            let connection = try await self.pool.connection(limit: remaining.duration)
            let (_, frames) = try await connection.openStream(descriptor, deadline: deadline) { id, remaining in
                try connection.encode(
                    request,
                    kind: .request,
                    flags: .endStream,
                    method: descriptor.id,
                    callID: id,
                    timeoutMilliseconds: remaining.wireMilliseconds
                )
            }
            return TrainEvents(frames: frames, codec: connection.receiveCodec)
        }
    }

    static func decode<Response: ProtobufMessage>(
        _ frame: Frame,
        as: Response.Type,
        codec: FramePayloadCodec
    ) throws -> Response {
        do {
            return try codec.decode(frame, as: Response.self)
        } catch {
            // PROTOCOL.md §9: past a limit → resource_exhausted; corrupt or undecodable → invalid_argument.
            let status = error.status
            throw ModelwireError(status.code, "response \(Response.self) rejected: \(status.message)", cause: error)
        }
    }
}

/// Runs `body` with a new client and shuts the client down afterwards, whatever `body` does.
/// - Parameters:
///   - endpoints: `host:port` strings.
///   - configuration: The client's settings.
///   - eventLoopGroup: Where connections run.
///   - logger: Connection events at debug level.
///   - body: Uses the client; must not let it escape.
/// - Returns: What `body` returns.
/// - Throws: `ModelwireError` for bad addresses, or what `body` throws.
public func withModelwireClient<Result>(
    endpoints: [String],
    configuration: ModelwireClient.Configuration = .defaults,
    eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
    logger: Logger,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (ModelwireClient) async throws -> Result
) async throws -> Result {
    let client = try ModelwireClient(
        endpoints: endpoints,
        configuration: configuration,
        eventLoopGroup: eventLoopGroup,
        logger: logger
    )
    do {
        let result = try await body(client)
        await client.shutdown()
        return result
    } catch {
        await client.shutdown()
        throw error
    }
}
