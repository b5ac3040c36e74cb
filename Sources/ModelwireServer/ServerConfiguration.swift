import Foundation
import ModelwireCodec
import ModelwireProtocol
import NIOCore

/// Everything `ModelServer` can be configured with. Flags, environment and files are parsed in
/// the executable; this is the plain value it builds.
public struct ServerConfiguration: Sendable, Hashable {
    /// The default TCP port (PROTOCOL.md §1).
    public static let defaultPort = 7411

    /// Address to bind. Default 127.0.0.1 (loopback only).
    public var host: String
    /// Port to bind; 0 picks a free one. Default 7411.
    public var port: Int
    /// The model repository directory (models, datasets, job records).
    public var repositoryPath: String
    /// Protocol limits announced to clients and enforced.
    public var limits: ProtocolLimits
    /// Event loop threads. Default: the number of cores.
    public var eventLoopThreads: Int
    /// Dynamic batching of predicts.
    public var batching: Batching
    /// Training jobs that may run at once; the rest queue. Default 1.
    public var maxConcurrentJobs: Int
    /// Total bytes of uploaded datasets. Default 1 GiB.
    public var datasetQuotaBytes: Int
    /// How long in-flight calls may take to finish after a drain starts. Default 10 s.
    public var shutdownGracePeriodMilliseconds: Int
    /// A connection that sends no HELLO for this long is closed. Default 10 s.
    public var handshakeTimeoutMilliseconds: Int
    /// A connection whose peer reads none of its answers for this long is closed. Default 30 s.
    public var stalledWriteTimeoutMilliseconds: Int
    /// How often the allocator is checked for a burst's free memory to give back (`MemoryReturn`);
    /// 0 never. Default 1 s.
    public var memoryReturnIntervalMilliseconds: Int
    /// All of a frame's bytes must arrive within this long of its first byte (slowloris inside
    /// a frame: the idle timer, reset by every byte, never fires on a trickled frame). Default 30 s.
    public var frameTimeoutMilliseconds: Int
    /// How often the repository is read again for versions, aliases and deletions written by other
    /// servers on the same directory (replicas on a shared volume); 0 never. Default 1 s.
    public var repositoryPollMilliseconds: Int
    /// This server's name among the replicas of one repository: it owns the jobs it runs, and at
    /// start fails only its own interrupted ones. Default: the host name (unique per pod); several
    /// servers on one host need ids of their own.
    public var replicaID: String
    /// Connections open at once; more are refused with ERROR resource_exhausted. Default 4096.
    public var maxConnections: Int
    /// Connections open at once from one source address; 0 = no per-address limit (the default:
    /// behind a proxy every client has the proxy's address).
    public var maxConnectionsPerAddress: Int
    /// Tokens and roles (PROTOCOL.md §3.1).
    public var authentication: Authentication
    /// TLS on the port (docs/security.md); nil = plaintext.
    public var tls: TLS?
    /// What one training request may ask the server to spend.
    public var trainingCaps: TrainingCaps
    /// The HTTP side port: metrics, probes, the V2 inference API (off unless `http.port` is set).
    public var http: HTTP = .defaults
    /// Name and version announced in ServerHello and ServerInfo.
    public var serverName: String
    public var serverVersion: String

    /// Dynamic batching: concurrent predicts of one model version, arriving on one event loop,
    /// are computed in one forward pass.
    public struct Batching: Sendable, Hashable {
        /// Rows in one batch; more wait for the next. Default 256.
        public var maxBatchRows: Int
        /// How long the first call of a batch may wait for others. Default 0: a batch is what
        /// arrived in one pass over the sockets, so a lone call never waits.
        public var maxQueueDelayMicroseconds: Int
        /// Calls queued per model version; beyond, resource_exhausted with a retry hint. Default 1024.
        public var maxQueuedCalls: Int
        /// Predicts of at most this many rows run on the event loop that read them (a thread hop
        /// costs more than the compute); larger ones run on the worker pool. Default 64.
        public var inlineMaxRows: Int

        public static let defaults = Batching(
            maxBatchRows: 256,
            maxQueueDelayMicroseconds: 0,
            maxQueuedCalls: 1024,
            inlineMaxRows: 64
        )

        public init(maxBatchRows: Int, maxQueueDelayMicroseconds: Int, maxQueuedCalls: Int, inlineMaxRows: Int) {
            self.maxBatchRows = maxBatchRows
            self.maxQueueDelayMicroseconds = maxQueueDelayMicroseconds
            self.maxQueuedCalls = maxQueuedCalls
            self.inlineMaxRows = inlineMaxRows
        }
    }

    /// Who may call what (docs/security.md).
    public struct Authentication: Sendable, Hashable {
        /// The token file (`TokenFile`); nil = no authentication (every connection is admin),
        /// allowed only on a loopback address unless `insecureNoAuth`.
        public var authFile: String?
        /// Connections without credentials may call Health (for load balancers' health checks).
        public var healthWithoutAuth: Bool
        /// Serve a non-loopback address without a token file (a warning is logged at start).
        public var insecureNoAuth: Bool

        public static let defaults = Authentication(authFile: nil, healthWithoutAuth: false, insecureNoAuth: false)

        public init(authFile: String?, healthWithoutAuth: Bool, insecureNoAuth: Bool) {
            self.authFile = authFile
            self.healthWithoutAuth = healthWithoutAuth
            self.insecureNoAuth = insecureNoAuth
        }
    }

    /// The server's certificate and, for mutual TLS, the CA its clients' certificates must be
    /// signed by: PEM files, read at start and again on every reload (SIGHUP).
    public struct TLS: Sendable, Hashable {
        /// The certificate chain, the server's own first.
        public var certificateChainFile: String
        /// The chain's private key.
        public var privateKeyFile: String
        /// Clients must present a certificate signed by one of these; nil = no client certificates.
        public var clientCAFile: String?

        public init(certificateChainFile: String, privateKeyFile: String, clientCAFile: String? = nil) {
            self.certificateChainFile = certificateChainFile
            self.privateKeyFile = privateKeyFile
            self.clientCAFile = clientCAFile
        }
    }

    /// The limits as announced in ServerHello and ServerInfo: the protocol limits and the
    /// server's own timeouts.
    public var announcedLimits: V1.Limits {
        var message = limits.message
        message.handshakeTimeoutMs = UInt32(clamping: handshakeTimeoutMilliseconds)
        message.frameTimeoutMs = UInt32(clamping: frameTimeoutMilliseconds)
        return message
    }

    /// The defaults for a repository directory.
    public static func defaults(repositoryPath: String) -> ServerConfiguration {
        ServerConfiguration(repositoryPath: repositoryPath)
    }

    /// Creates a configuration with the documented defaults.
    public init(
        host: String = "127.0.0.1",
        port: Int = ServerConfiguration.defaultPort,
        repositoryPath: String,
        limits: ProtocolLimits = .defaults,
        eventLoopThreads: Int = System.coreCount,
        batching: Batching = .defaults,
        maxConcurrentJobs: Int = 1,
        datasetQuotaBytes: Int = 1 << 30,
        shutdownGracePeriodMilliseconds: Int = 10_000,
        handshakeTimeoutMilliseconds: Int = 10_000,
        stalledWriteTimeoutMilliseconds: Int = 30_000,
        memoryReturnIntervalMilliseconds: Int = 1000,
        frameTimeoutMilliseconds: Int = 30_000,
        repositoryPollMilliseconds: Int = 1000,
        replicaID: String = ProcessInfo.processInfo.hostName,
        maxConnections: Int = 4096,
        maxConnectionsPerAddress: Int = 0,
        authentication: Authentication = .defaults,
        tls: TLS? = nil,
        trainingCaps: TrainingCaps = .defaults,
        serverName: String = "modelwire-server",
        serverVersion: String = ModelServer.version
    ) {
        self.host = host
        self.port = port
        self.repositoryPath = repositoryPath
        self.limits = limits
        self.eventLoopThreads = eventLoopThreads
        self.batching = batching
        self.maxConcurrentJobs = maxConcurrentJobs
        self.datasetQuotaBytes = datasetQuotaBytes
        self.shutdownGracePeriodMilliseconds = shutdownGracePeriodMilliseconds
        self.handshakeTimeoutMilliseconds = handshakeTimeoutMilliseconds
        self.stalledWriteTimeoutMilliseconds = stalledWriteTimeoutMilliseconds
        self.memoryReturnIntervalMilliseconds = memoryReturnIntervalMilliseconds
        self.frameTimeoutMilliseconds = frameTimeoutMilliseconds
        self.repositoryPollMilliseconds = repositoryPollMilliseconds
        self.replicaID = replicaID
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.authentication = authentication
        self.tls = tls
        self.trainingCaps = trainingCaps
        self.serverName = serverName
        self.serverVersion = serverVersion
    }
}
