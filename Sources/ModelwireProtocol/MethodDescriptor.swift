public import ModelwireCodec

/// What the protocol layer knows of a method: its id, call shape and message types.
public struct MethodDescriptor: Sendable {
    /// How many messages flow each way.
    public enum Shape: Sendable, Hashable {
        /// One request, one response.
        case unary
        /// One request, a stream of responses (the last one carries END_STREAM).
        case serverStreaming
        /// A stream of requests (the last one carries END_STREAM), one response.
        case clientStreaming
    }

    public let method: V1.Method
    public let name: String
    public let shape: Shape
    /// Safe to retry: running it twice has the same effect as once.
    public let idempotent: Bool
    public let requestType: any ProtobufMessage.Type
    public let responseType: any ProtobufMessage.Type

    /// The method id as carried in the frame header.
    public var id: UInt16 { UInt16(truncatingIfNeeded: method.rawValue) }

    /// Decodes a request payload of this method (for servers, tools and fuzzing).
    public func decodeRequest(_ bytes: UnsafeRawBufferPointer, maxSize: Int) throws(CodecError) -> any ProtobufMessage {
        try requestType.init(serializedBytes: bytes, maxSize: maxSize)
    }

    /// Every method of modelwire.v1, in id order.
    public static let v1: [MethodDescriptor] = [
        .init(.predict, "Predict", .unary, true, V1.PredictRequest.self, V1.PredictResponse.self),
        .init(.train, "Train", .serverStreaming, false, V1.TrainRequest.self, V1.TrainEvent.self),
        .init(.evaluate, "Evaluate", .unary, true, V1.EvaluateRequest.self, V1.EvaluateResponse.self),
        .init(.getJob, "GetJob", .unary, true, V1.GetJobRequest.self, V1.Job.self),
        .init(.listJobs, "ListJobs", .unary, true, V1.ListJobsRequest.self, V1.ListJobsResponse.self),
        .init(.watchJob, "WatchJob", .serverStreaming, true, V1.WatchJobRequest.self, V1.TrainEvent.self),
        .init(.cancelJob, "CancelJob", .unary, true, V1.CancelJobRequest.self, V1.Job.self),
        .init(
            .uploadDataset,
            "UploadDataset",
            .clientStreaming,
            false,
            V1.UploadDatasetRequest.self,
            V1.DatasetInfo.self
        ),
        .init(.listDatasets, "ListDatasets", .unary, true, V1.ListDatasetsRequest.self, V1.ListDatasetsResponse.self),
        .init(
            .deleteDataset,
            "DeleteDataset",
            .unary,
            true,
            V1.DeleteDatasetRequest.self,
            V1.DeleteDatasetResponse.self
        ),
        .init(.listModels, "ListModels", .unary, true, V1.ListModelsRequest.self, V1.ListModelsResponse.self),
        .init(.describeModel, "DescribeModel", .unary, true, V1.DescribeModelRequest.self, V1.ModelVersionInfo.self),
        .init(.deleteModel, "DeleteModel", .unary, true, V1.DeleteModelRequest.self, V1.DeleteModelResponse.self),
        .init(.setAlias, "SetAlias", .unary, true, V1.SetAliasRequest.self, V1.SetAliasResponse.self),
        .init(.exportModel, "ExportModel", .unary, true, V1.ExportModelRequest.self, V1.ExportModelResponse.self),
        .init(.importModel, "ImportModel", .unary, false, V1.ImportModelRequest.self, V1.ModelVersionInfo.self),
        .init(.health, "Health", .unary, true, V1.HealthRequest.self, V1.HealthResponse.self),
        .init(.serverInfo, "ServerInfo", .unary, true, V1.ServerInfoRequest.self, V1.ServerInfoResponse.self),
        .init(.quantize, "Quantize", .serverStreaming, false, V1.QuantizeRequest.self, V1.TrainEvent.self),
        .init(.prune, "Prune", .serverStreaming, false, V1.PruneRequest.self, V1.TrainEvent.self),
        .init(.distill, "Distill", .serverStreaming, false, V1.DistillRequest.self, V1.TrainEvent.self),
        .init(.tune, "Tune", .serverStreaming, false, V1.TuneRequest.self, V1.TrainEvent.self),
        .init(.explain, "Explain", .unary, true, V1.ExplainRequest.self, V1.ExplainResponse.self),
    ]

    /// The descriptor of a method id, or nil for an unknown id (answered with `unimplemented`).
    public static func lookup(_ id: UInt16) -> MethodDescriptor? {
        guard id >> 8 == 0x01 else { return nil }
        return byLowByte[Int(id & 0xFF)]
    }

    /// `v1` indexed by the low byte of the method id (ids are not contiguous past 0x0112).
    private static let byLowByte: [MethodDescriptor?] = {
        var table = [MethodDescriptor?](repeating: nil, count: 256)
        for descriptor in v1 { table[Int(descriptor.id & 0xFF)] = descriptor }
        return table
    }()

    private init(
        _ method: V1.Method,
        _ name: String,
        _ shape: Shape,
        _ idempotent: Bool,
        _ request: any ProtobufMessage.Type,
        _ response: any ProtobufMessage.Type
    ) {
        self.method = method
        self.name = name
        self.shape = shape
        self.idempotent = idempotent
        self.requestType = request
        self.responseType = response
    }
}
