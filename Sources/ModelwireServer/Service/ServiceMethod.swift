import ModelwireCodec
import ModelwireProtocol
import NIOCore

/// One row of the service's method table: the method, the role a caller needs, and the body
/// that serves it with where it runs. A new method is one `ModelService` function plus one row
/// of `ServiceMethod.v1`; the connection handler needs no change.
struct ServiceMethod: Sendable {
    /// What a caller must be allowed to do (PROTOCOL.md §3.1): checked per call against the
    /// connection's role, which the handshake computed once.
    typealias Role = AccessRole

    /// Where a unary body runs.
    enum Execution: Sendable {
        /// On the connection's event loop: only for bodies that never block (in-memory lookups).
        case eventLoop
        /// On the worker pool: anything that touches the disk or computes for long.
        case workerPool
    }

    /// A decoded request bound to its body, run once with the call's context.
    typealias Work = @Sendable (CallContext) throws -> any ProtobufMessage
    /// Decodes a request frame and binds it to the body; the request too, for the call's log
    /// line (its model, its trace context).
    typealias Prepare =
        @Sendable (ModelService, Frame, FramePayloadCodec) throws(ModelwireError) -> (
            request: any CallMetadataCarrier, work: Work
        )
    /// Subscribes a decoded request's call to a job's events.
    typealias Subscription = (@escaping JobManager.Subscriber) throws -> ModelService.JobSubscription
    /// Decodes a request frame and binds it to its subscription; the request too, as `Prepare`.
    typealias Subscribe =
        @Sendable (ModelService, Frame, FramePayloadCodec) throws(ModelwireError) -> (
            request: any CallMetadataCarrier, subscribe: Subscription
        )

    /// How the method is served.
    enum Body: Sendable {
        /// Predict: the hot path, served by the connection and the loop's batcher.
        case predict
        /// One request, one response.
        case unary(Execution, Prepare)
        /// One request, the events of a training job.
        case jobStream(Subscribe)
        /// Dataset chunks assembled by `ModelService.DatasetUpload`, then stored.
        case datasetUpload
    }

    let descriptor: MethodDescriptor
    let role: Role
    let body: Body

    /// The row of a method that `MethodDescriptor.lookup` found.
    static func lookup(_ descriptor: MethodDescriptor) -> ServiceMethod {
        byLowByte[Int(descriptor.id & 0xFF)]!
    }

    /// `v1` by the low byte of the method id (`MethodDescriptor.lookup` only finds v1 ids).
    private static let byLowByte: [ServiceMethod?] = {
        var table = [ServiceMethod?](repeating: nil, count: 256)
        for method in v1 { table[Int(method.descriptor.id & 0xFF)] = method }
        return table
    }()

    /// The role each method needs by the id's low byte (the per-call check reads one element);
    /// ids without a method need admin (they never get here: lookup refuses them first).
    static let roles: [AccessRole] = byLowByte.map { $0?.role ?? .admin }

    /// The role `descriptor`'s method needs.
    @inline(__always)
    static func requiredRole(_ descriptor: MethodDescriptor) -> AccessRole {
        roles[Int(descriptor.id & 0xFF)]
    }

    /// Every method of modelwire.v1, in id order (the same order as `MethodDescriptor.v1`).
    static let v1: [ServiceMethod] = [
        row(.predict, .predict, .predict),
        row(.train, .train, .jobStream(subscribe(ModelService.train))),
        row(.evaluate, .train, unary(.workerPool, ModelService.evaluate)),
        row(.getJob, .train, unary(.eventLoop, ModelService.getJob)),
        row(.listJobs, .train, unary(.eventLoop, ModelService.listJobs)),
        row(.watchJob, .train, .jobStream(subscribe(ModelService.watchJob))),
        row(.cancelJob, .train, unary(.workerPool, ModelService.cancelJob)),
        row(.uploadDataset, .train, .datasetUpload),
        row(.listDatasets, .train, unary(.eventLoop, ModelService.listDatasets)),
        row(.deleteDataset, .train, unary(.workerPool, ModelService.deleteDataset)),
        row(.listModels, .predict, unary(.eventLoop, ModelService.listModels)),
        row(.describeModel, .predict, unary(.eventLoop, ModelService.describeModel)),
        row(.deleteModel, .admin, unary(.workerPool, ModelService.deleteModel)),
        row(.setAlias, .admin, unary(.workerPool, ModelService.setAlias)),
        row(.exportModel, .admin, unary(.workerPool, ModelService.exportModel)),
        row(.importModel, .admin, unary(.workerPool, ModelService.importModel)),
        row(.health, .predict, unary(.eventLoop, ModelService.health)),
        row(.serverInfo, .predict, unary(.eventLoop, ModelService.serverInfo)),
        row(.quantize, .admin, .jobStream(subscribe(ModelService.quantize))),
        row(.prune, .admin, .jobStream(subscribe(ModelService.prune))),
        row(.distill, .admin, .jobStream(subscribe(ModelService.distill))),
        row(.tune, .train, .jobStream(subscribe(ModelService.tune))),
        row(.explain, .predict, unary(.workerPool, ModelService.explain)),
    ]

    private static func row(_ method: V1.Method, _ role: Role, _ body: Body) -> ServiceMethod {
        guard let descriptor = MethodDescriptor.v1.first(where: { $0.method == method }) else {
            preconditionFailure("method \(method) has no descriptor")
        }
        return ServiceMethod(descriptor: descriptor, role: role, body: body)
    }

    private static func unary<Request: CallMetadataCarrier, Response: ProtobufMessage>(
        _ execution: Execution,
        _ body: @escaping @Sendable (ModelService) -> (Request, CallContext) throws -> Response
    ) -> Body {
        .unary(execution) { service, frame, codec throws(ModelwireError) in
            let request = try decode(frame, Request.self, codec, metrics: service.metrics)
            return (request, { call in try body(service)(request, call) })
        }
    }

    private static func subscribe<Request: CallMetadataCarrier>(
        _ body:
            @escaping @Sendable (ModelService) -> (Request, @escaping JobManager.Subscriber) throws ->
            ModelService.JobSubscription
    ) -> Subscribe {
        { service, frame, codec throws(ModelwireError) in
            let request = try decode(frame, Request.self, codec, metrics: service.metrics)
            return (request, { subscriber in try body(service)(request, subscriber) })
        }
    }

    /// Decodes a request payload; a malformed one is the caller's error (invalid_argument etc.).
    static func decode<M: ProtobufMessage>(
        _ frame: Frame,
        _ type: M.Type,
        _ codec: FramePayloadCodec,
        metrics: ServerMetrics? = nil
    ) throws(ModelwireError) -> M {
        let message: M
        do { message = try codec.decode(frame, as: type) } catch { throw error.modelwireError }
        if let metrics, frame.flags.contains(.compressed) {
            metrics.compressed(message, sentBytes: frame.payload.readableBytes)
        }
        return message
    }
}
