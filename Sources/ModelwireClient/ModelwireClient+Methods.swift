public import ModelwireCodec
import ModelwireProtocol
public import NIOCore

/// One typed method per modelwire.v1 call. Each throws `ModelwireError` with the call's status.
extension ModelwireClient {
    // MARK: inference and training

    /// Runs a model on rows (`Predict`, idempotent).
    /// - Parameters:
    ///   - request: The model reference, the rows as a flat row-major tensor, and whether to return probabilities.
    ///   - options: Deadline and retries.
    /// - Returns: Class ids and names (classification) or values (regression), with scores on request.
    public func predict(
        _ request: V1.PredictRequest,
        options: CallOptions = .defaults
    ) async throws -> V1.PredictResponse {
        try await self.unary(.predict, request, as: V1.PredictResponse.self, options: options)
    }

    /// `predict` for callers that live on NIO event loops (load generators, proxies): no Swift
    /// task per call. On a connected client with room, the request is encoded on the calling
    /// thread and the response decoded on the connection's event loop, where the future
    /// completes; called from that loop, a call costs no thread hop at all. Deadlines, retries
    /// and errors are those of the async `predict`, which takes over while connecting and after
    /// a failed attempt (its retry policy decides from that failure).
    public func predictOnEventLoop(
        _ request: V1.PredictRequest,
        options: CallOptions = .defaults
    )
        -> EventLoopFuture<V1.PredictResponse>
    {
        self.unaryOnEventLoop(.predict, request, as: V1.PredictResponse.self, options: options)
    }

    /// Runs a model on rows: `rows` of `columns` values each, flat and row-major.
    public func predict(
        model: V1.ModelRef,
        columns: Int,
        values: [Float],
        includeProbabilities: Bool = false,
        options: CallOptions = .defaults
    ) async throws -> V1.PredictResponse {
        try await self.predict(
            V1.PredictRequest(
                model: model,
                inputs: V1.Tensor(columns: UInt32(columns), values: values),
                includeProbabilities: includeProbabilities
            ),
            options: options
        )
    }

    /// Starts a training job and follows it (`Train`, not idempotent: retried only when the
    /// request never left, or on a retry hint).
    /// - Returns: The job's events: `accepted` with the job id, `progress`..., then `result`.
    ///   Leaving the iteration early detaches from the job; it keeps running.
    public func train(_ request: V1.TrainRequest, options: CallOptions = .defaults) async throws -> TrainEvents {
        try await self.serverStream(.train, request, options: options)
    }

    /// Quantizes a dense net or a linear model to int8 into a new version (`Quantize`), as a job:
    /// the events are those of a train, and the result carries the before/after report.
    public func quantize(_ request: V1.QuantizeRequest, options: CallOptions = .defaults) async throws -> TrainEvents {
        try await self.serverStream(.quantize, request, options: options)
    }

    /// Prunes a dense net into a new version (`Prune`), as a job: the events are those of a train,
    /// and the result carries the before/after report.
    public func prune(_ request: V1.PruneRequest, options: CallOptions = .defaults) async throws -> TrainEvents {
        try await self.serverStream(.prune, request, options: options)
    }

    /// Distills a classifier into a dense student, a new version of `request.model` (`Distill`), as
    /// a job: the events are those of a train, and the result carries the before/after report.
    public func distill(_ request: V1.DistillRequest, options: CallOptions = .defaults) async throws -> TrainEvents {
        try await self.serverStream(.distill, request, options: options)
    }

    /// Searches hyper-parameters by k-fold cross-validation (`Tune`) and stores the best
    /// configuration, refit on all rows, as the next version of `request.model`, as a job: the
    /// events are those of a train, one progress event per finished trial (its `trial` set), and
    /// the result's `tune` holds the whole trial table. Not retried (it makes a version).
    public func tune(_ request: V1.TuneRequest, options: CallOptions = .defaults) async throws -> TrainEvents {
        try await self.serverStream(.tune, request, options: options)
    }

    /// Evaluates a model on labelled rows (`Evaluate`).
    public func evaluate(
        _ request: V1.EvaluateRequest,
        options: CallOptions = .defaults
    ) async throws -> V1.EvaluateResponse {
        try await self.unary(.evaluate, request, as: V1.EvaluateResponse.self, options: options)
    }

    /// Per-row feature attributions of a model's predictions (`Explain`): integrated gradients for
    /// dense nets, exact contributions for linear models, TreeSHAP for trees (PROTOCOL.md §5).
    public func explain(
        _ request: V1.ExplainRequest,
        options: CallOptions = .defaults
    ) async throws -> V1.ExplainResponse {
        try await self.unary(.explain, request, as: V1.ExplainResponse.self, options: options)
    }

    // MARK: jobs

    /// A training job by id (`GetJob`).
    public func getJob(id: String, options: CallOptions = .defaults) async throws -> V1.Job {
        try await self.unary(.getJob, V1.GetJobRequest(jobId: id), as: V1.Job.self, options: options)
    }

    /// Every job the server remembers, newest first (`ListJobs`).
    public func listJobs(options: CallOptions = .defaults) async throws -> [V1.Job] {
        try await self.unary(.listJobs, V1.ListJobsRequest(), as: V1.ListJobsResponse.self, options: options).jobs
    }

    /// Reattaches to a job's progress (`WatchJob`): the latest progress at once, then new events until it ends.
    public func watchJob(id: String, options: CallOptions = .defaults) async throws -> TrainEvents {
        try await self.serverStream(.watchJob, V1.WatchJobRequest(jobId: id), options: options)
    }

    /// Stops a queued or running job (`CancelJob`).
    /// - Returns: The job, cancelled or in the final state it had reached.
    public func cancelJob(id: String, options: CallOptions = .defaults) async throws -> V1.Job {
        try await self.unary(.cancelJob, V1.CancelJobRequest(jobId: id), as: V1.Job.self, options: options)
    }

    // MARK: datasets

    /// Uploads a dataset in chunks (`UploadDataset`, client streaming). Each chunk's encoded size
    /// stays under `Configuration.uploadChunkBytes` and half the server's frame limit. Not
    /// idempotent: retried only when nothing was sent.
    /// - Parameters:
    ///   - name: The dataset's name (1-64 of `[A-Za-z0-9._-]`).
    ///   - dataset: The rows, with class ids or regression targets.
    ///   - replace: Replace an existing dataset of that name (else `alreadyExists`).
    ///   - options: Deadline (default: the configuration's) and retries.
    /// - Returns: The stored dataset's description.
    public func uploadDataset(
        name: String,
        dataset: V1.Dataset,
        replace: Bool = false,
        options: CallOptions = .defaults
    ) async throws -> V1.DatasetInfo {
        try await self.upload(options: options) { chunkBytes in
            DatasetChunker.chunks(name: name, dataset: dataset, replace: replace, maxChunkBytes: chunkBytes)
        }
    }

    /// Uploads a table of raw typed columns as a dataset (`UploadDataset`), in chunks of rows as
    /// ``uploadDataset(name:dataset:replace:options:)`` does; Train fits preprocessing on it.
    /// - Parameters:
    ///   - name: The dataset's name (1-64 of `[A-Za-z0-9._-]`).
    ///   - table: The columns, and the one holding the labels.
    ///   - replace: Replace an existing dataset of that name (else `alreadyExists`).
    ///   - options: Deadline (default: the configuration's) and retries.
    /// - Returns: The stored dataset's description.
    public func uploadDataset(
        name: String,
        table: V1.LabelledTable,
        replace: Bool = false,
        options: CallOptions = .defaults
    ) async throws -> V1.DatasetInfo {
        try await self.upload(options: options) { chunkBytes in
            DatasetChunker.chunks(name: name, table: table, replace: replace, maxChunkBytes: chunkBytes)
        }
    }

    /// Streams the chunks `makeChunks` cuts for the connection's chunk size, and reads the stored dataset's info.
    private func upload(
        options: CallOptions,
        makeChunks: @escaping @Sendable (Int) -> [V1.UploadDatasetRequest]
    ) async throws -> V1.DatasetInfo {
        let descriptor = MethodDescriptor.lookup(UInt16(truncatingIfNeeded: V1.Method.uploadDataset.rawValue))!
        let deadline = Deadline(timeout: options.timeout ?? self.configuration.defaultTimeout)
        return try await self.withRetries(descriptor, options: options, deadline: deadline) { remaining in
            let connection = try await self.pool.connection(limit: remaining.duration)
            let chunkBytes = max(
                4096,
                min(self.configuration.uploadChunkBytes, connection.serverLimits.maxFrameBytes / 2)
            )
            let chunks = makeChunks(chunkBytes)
            let (id, responses) = try await connection.openStream(descriptor, deadline: deadline) { id, remaining in
                try connection.encode(
                    options.stamped(chunks[0]),
                    kind: .request,
                    flags: chunks.count == 1 ? .endStream : [],
                    method: descriptor.id,
                    callID: id,
                    timeoutMilliseconds: remaining.wireMilliseconds
                )
            }
            var iterator = responses.makeAsyncIterator()
            for index in chunks.indices.dropFirst() {
                if Task.isCancelled {
                    connection.cancel(callID: id)
                    throw ModelwireError(.cancelled, "upload cancelled")
                }
                let frame = try connection.encode(
                    chunks[index],
                    kind: .message,
                    flags: index == chunks.count - 1 ? .endStream : [],
                    method: 0,
                    callID: id,
                    timeoutMilliseconds: 0
                )
                do {
                    try await connection.send(callID: id, frame: frame)
                } catch {
                    break  // the call has ended (the server answered early) or the connection closed: read why
                }
            }
            guard let frame = try await iterator.next() else { throw ModelwireError(.cancelled, "upload cancelled") }
            return try Self.decode(frame, as: V1.DatasetInfo.self, codec: connection.receiveCodec)
        }
    }

    /// The stored datasets (`ListDatasets`).
    public func listDatasets(options: CallOptions = .defaults) async throws -> [V1.DatasetInfo] {
        try await self.unary(
            .listDatasets,
            V1.ListDatasetsRequest(),
            as: V1.ListDatasetsResponse.self,
            options: options
        ).datasets
    }

    /// Deletes a dataset (`DeleteDataset`).
    public func deleteDataset(name: String, options: CallOptions = .defaults) async throws {
        _ = try await self.unary(
            .deleteDataset,
            V1.DeleteDatasetRequest(name: name),
            as: V1.DeleteDatasetResponse.self,
            options: options
        )
    }

    // MARK: models

    /// Every model with its versions and aliases, sorted by name (`ListModels`).
    public func listModels(options: CallOptions = .defaults) async throws -> [V1.ModelSummary] {
        try await self.unary(.listModels, V1.ListModelsRequest(), as: V1.ListModelsResponse.self, options: options)
            .models
    }

    /// One version's metadata (`DescribeModel`); the latest when `model` has no selector.
    public func describeModel(
        _ model: V1.ModelRef,
        options: CallOptions = .defaults
    ) async throws -> V1.ModelVersionInfo {
        try await self.unary(
            .describeModel,
            V1.DescribeModelRequest(model: model),
            as: V1.ModelVersionInfo.self,
            options: options
        )
    }

    /// Deletes one version, or the whole model when `version` is nil (`DeleteModel`).
    /// - Returns: The versions deleted.
    public func deleteModel(
        name: String,
        version: UInt32? = nil,
        options: CallOptions = .defaults
    ) async throws -> [UInt32] {
        try await self.unary(
            .deleteModel,
            V1.DeleteModelRequest(name: name, version: version),
            as: V1.DeleteModelResponse.self,
            options: options
        ).deletedVersions
    }

    /// Sets or moves an alias (`SetAlias`); rollback is moving it back.
    /// - Returns: The version the alias pointed to before, if any.
    public func setAlias(
        model: String,
        alias: String,
        version: UInt32,
        options: CallOptions = .defaults
    ) async throws -> UInt32? {
        try await self.unary(
            .setAlias,
            V1.SetAliasRequest(name: model, alias: alias, version: version),
            as: V1.SetAliasResponse.self,
            options: options
        ).previousVersion
    }

    /// A version's model file, byte for byte as stored (`ExportModel`).
    public func exportModel(
        _ model: V1.ModelRef,
        options: CallOptions = .defaults
    ) async throws -> V1.ExportModelResponse {
        try await self.unary(
            .exportModel,
            V1.ExportModelRequest(model: model),
            as: V1.ExportModelResponse.self,
            options: options
        )
    }

    /// Stores a model file as the next version of `name` (`ImportModel`; empty name = the file's own).
    public func importModel(
        name: String,
        modelFile: [UInt8],
        options: CallOptions = .defaults
    ) async throws -> V1.ModelVersionInfo {
        try await self.unary(
            .importModel,
            V1.ImportModelRequest(name: name, modelFile: modelFile),
            as: V1.ModelVersionInfo.self,
            options: options
        )
    }

    /// Converts an ONNX model (serialized `onnx.ModelProto`) and stores it as the next version of
    /// `name` (`ImportModel` with `onnx_model`). An unsupported graph is `INVALID_ARGUMENT` naming the node.
    public func importOnnx(
        name: String,
        onnxModel: [UInt8],
        options: CallOptions = .defaults
    ) async throws -> V1.ModelVersionInfo {
        try await self.unary(
            .importModel,
            V1.ImportModelRequest(name: name, onnxModel: onnxModel),
            as: V1.ModelVersionInfo.self,
            options: options
        )
    }

    /// A version as an ONNX model (`ExportModel` with format ONNX): the bytes are in `onnxModel`.
    public func exportOnnx(
        _ model: V1.ModelRef,
        options: CallOptions = .defaults
    ) async throws -> V1.ExportModelResponse {
        try await self.unary(
            .exportModel,
            V1.ExportModelRequest(model: model, format: .onnx),
            as: V1.ExportModelResponse.self,
            options: options
        )
    }

    // MARK: server

    /// Liveness and readiness (`Health`).
    public func health(options: CallOptions = .defaults) async throws -> V1.HealthResponse {
        try await self.unary(.health, V1.HealthRequest(), as: V1.HealthResponse.self, options: options)
    }

    /// The server's name, version, protocol versions, limits and schema descriptors (`ServerInfo`).
    /// - Parameter includeSchema: Whether the answer carries the schema's descriptor set (~48 KB).
    public func serverInfo(
        includeSchema: Bool = true,
        options: CallOptions = .defaults
    ) async throws
        -> V1.ServerInfoResponse
    {
        try await self.unary(
            .serverInfo,
            V1.ServerInfoRequest(omitFileDescriptorSet: !includeSchema),
            as: V1.ServerInfoResponse.self,
            options: options
        )
    }
}
