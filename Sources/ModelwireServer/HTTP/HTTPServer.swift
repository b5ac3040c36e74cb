import CoreMetrics
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Prometheus

/// Binds the HTTP side port on the server's event loops (`ServerConfiguration.HTTP`).
enum HTTPServer {
    /// Buckets of the latency histograms: a rows-1 predict takes tens of µs, a training call minutes;
    /// few buckets, because swift-prometheus updates every bucket of a histogram on each record.
    static let durationBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .milliseconds(5), .milliseconds(25), .milliseconds(100), .seconds(1), .seconds(10), .seconds(60),
    ]

    /// The metrics factory on a server's own registry (not the global one, so that several
    /// servers in one process, as in tests, each serve their own numbers).
    static func metricsFactory(_ registry: PrometheusCollectorRegistry) -> ServerMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = durationBuckets
        factory.valueHistogramBuckets["modelwire_compression_ratio"] = [1, 1.25, 1.5, 2, 3, 4, 6, 8, 16, 32, 64]
        return ServerMetricsFactory(
            prometheus: factory,
            durationBuckets: ["modelwire_call_duration_seconds": durationBuckets],
            valueBuckets: ["modelwire_predict_batch_rows": [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 65536]]
        )
    }

    /// Binds `host:port` and serves HTTP/1.1 with keep-alive on `group` (HTTPS with `tls`).
    /// - Parameters:
    ///   - batchers: The loops' predict batchers (the ones the binary port uses).
    ///   - tls: The binary port's certificates, when it has them: the HTTP port then speaks HTTPS.
    ///   - connections: Where the port's connections are counted; one over `admission`'s caps
    ///     gets `503` and is closed.
    /// - Throws: `ServerRuntimeError` when the address cannot be bound.
    static func bind(
        host: String,
        port: Int,
        group: any EventLoopGroup,
        shared: HTTPContext,
        batchers: [ObjectIdentifier: NIOLoopBound<PredictBatcher>],
        tls: ServerTLSContext?,
        connections: ConnectionRegistry,
        admission: ConnectionRegistry.Admission
    ) async throws -> any Channel {
        let settings = shared.settings
        let metrics = shared.service.metrics
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let batcher = batchers[ObjectIdentifier(channel.eventLoop)]!.value
                    let handlers = channel.pipeline.syncOperations
                    if let tls {
                        guard let context = tls.current else {
                            throw ServerRuntimeError(.tlsFilesInvalid, "no TLS context")
                        }
                        try handlers.addHandler(NIOSSLServerHandler(context: context))
                    }
                    if let refusal = connections.admit(channel, admission) {
                        let answer = RefuseConnectionHandler.httpError(refusal)
                        try handlers.addHandler(RefuseConnectionHandler(answer: answer, afterTLS: tls != nil))
                        return
                    }
                    if let metrics {
                        try handlers.addHandler(
                            ByteCountingHandler(
                                bytesIn: metrics.httpBytesIn,
                                bytesOut: metrics.httpBytesOut,
                                connections: metrics.httpConnections
                            )
                        )
                    }
                    try handlers.addHandler(
                        IdleStateHandler(readTimeout: .milliseconds(Int64(settings.idleTimeoutMilliseconds)))
                    )
                    try handlers.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false)
                    try handlers.addHandler(HTTPHandler(shared: shared, batcher: batcher))
                }
            }
        do {
            return try await bootstrap.bind(host: host, port: port).get()
        } catch {
            let reason = (error as? IOError).map { String(cString: strerror($0.errnoCode)).lowercased() } ?? "\(error)"
            throw ServerRuntimeError(
                .bindFailed,
                "cannot listen on \(host):\(port) (--http-port): \(reason)",
                cause: error
            )
        }
    }
}
