import Foundation
import Logging
import ModelwireCodec
import ModelwireProtocol
import NIOCore
import NIOPosix
import Synchronization

/// What every connection of one server shares: storage, jobs, configuration, the worker pool.
final class ServerContext: Sendable {
    let configuration: ServerConfiguration
    let repository: ModelRepository
    let datasets: DatasetStore
    let jobs: JobManager
    /// Runs blocking work (disk, large predicts, evaluation) off the event loops.
    let workers: NIOThreadPool
    let logger: Logger
    let startedUnixMs: UInt64
    private let drainingFlag = Atomic<Bool>(false)

    init(configuration: ServerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.repository = ModelRepository(root: configuration.repositoryPath, logger: logger)
        self.datasets = DatasetStore(root: configuration.repositoryPath, quotaBytes: UInt64(configuration.datasetQuotaBytes),
                                     logger: logger)
        self.jobs = JobManager(root: configuration.repositoryPath, repository: repository, datasets: datasets,
                               maxConcurrentJobs: configuration.maxConcurrentJobs, logger: logger)
        self.workers = NIOThreadPool(numberOfThreads: max(1, configuration.eventLoopThreads))
        self.workers.start()
        self.startedUnixMs = UInt64(Date().timeIntervalSince1970 * 1000)
    }

    var isDraining: Bool {
        get { drainingFlag.load(ordering: .relaxed) }
        set { drainingFlag.store(newValue, ordering: .relaxed) }
    }

    /// The Health answer.
    var health: V1.HealthResponse {
        let counts = jobs.counts
        return V1.HealthResponse(live: true, ready: repository.isLoaded && !isDraining, draining: isDraining,
                                 modelsLoaded: UInt32(repository.versionCount), jobsRunning: UInt32(counts.running),
                                 jobsQueued: UInt32(counts.queued))
    }

    /// The ServerInfo answer.
    var info: V1.ServerInfoResponse {
        V1.ServerInfoResponse(serverName: configuration.serverName, serverVersion: configuration.serverVersion,
                              protocolVersions: Handshake.protocolVersions, schemaPackages: V1.schemaPackages,
                              limits: configuration.limits.message, fileDescriptorSet: V1.fileDescriptorSet,
                              startedUnixMs: startedUnixMs)
    }
}
