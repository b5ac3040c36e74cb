import Foundation
import Logging
import ModelwireCodec
import ModelwireProtocol
import Synchronization

/// The v1 service: what every connection shares (storage, jobs, configuration) and the bodies of
/// the methods (in `ModelService+*.swift`), which `ServiceMethod.v1` maps to method ids.
///
/// The bodies are plain synchronous functions of a request and a `CallContext`: no NIO, no
/// connection. Where a body runs (the event loop or the worker pool) is the method table's
/// decision, not the body's.
final class ModelService: Sendable {
    let configuration: ServerConfiguration
    let repository: ModelRepository
    let datasets: DatasetStore
    let jobs: JobManager
    let logger: Logger
    /// The tokens in force (authentication off when it has no file).
    let authenticator: Authenticator
    /// The metric handles; nil when metrics are off.
    let metrics: ServerMetrics?
    let startedUnixMs: UInt64
    /// ServerInfo's answer, built once: it carries the whole descriptor set (~48 KB).
    let info: V1.ServerInfoResponse
    private let drainingFlag = Atomic<Bool>(false)

    /// Creates the service; `jobs` threads start here and stop in `JobManager.shutdown()`.
    init(
        configuration: ServerConfiguration,
        logger: Logger,
        authenticator: Authenticator? = nil,
        metrics: ServerMetrics? = nil
    ) {
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        self.authenticator = authenticator ?? Authenticator(path: configuration.authentication.authFile)
        self.repository = ModelRepository(root: configuration.repositoryPath, logger: logger)
        self.datasets = DatasetStore(
            root: configuration.repositoryPath,
            quotaBytes: UInt64(configuration.datasetQuotaBytes),
            logger: logger
        )
        self.jobs = JobManager(
            root: configuration.repositoryPath,
            repository: repository,
            datasets: datasets,
            maxConcurrentJobs: configuration.maxConcurrentJobs,
            caps: configuration.trainingCaps,
            replicaID: configuration.replicaID,
            logger: logger
        )
        let started = UInt64(Date().timeIntervalSince1970 * 1000)
        self.startedUnixMs = started
        self.info = V1.ServerInfoResponse(
            serverName: configuration.serverName,
            serverVersion: configuration.serverVersion,
            protocolVersions: Handshake.protocolVersions,
            schemaPackages: V1.schemaPackages,
            limits: configuration.announcedLimits,
            fileDescriptorSet: V1.fileDescriptorSet,
            startedUnixMs: started,
            replicaId: configuration.replicaID,
            metricsEnabled: metrics != nil,
            authentication: configuration.authentication.authFile != nil,
            tls: configuration.tls != nil,
            clientCertificates: configuration.tls?.clientCAFile != nil
        )
    }

    /// Whether the server drains (no new calls; readiness false).
    var isDraining: Bool {
        get { drainingFlag.load(ordering: .relaxed) }
        set { drainingFlag.store(newValue, ordering: .relaxed) }
    }

    /// The name and version announced in ServerHello.
    var serverName: String { "\(configuration.serverName)/\(configuration.serverVersion)" }
}
