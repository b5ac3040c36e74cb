extension ServerConfiguration {
    /// The HTTP side port (issue 13): `/metrics`, the `/v2/health` probes and the Open Inference
    /// Protocol (KServe V2) REST API, on the same host and event loops as the binary port.
    public struct HTTP: Sendable, Hashable {
        /// Port to bind on `host`; nil = no HTTP port (the default); 0 picks a free one.
        public var port: Int?
        /// The request line and headers of one request, in bytes; more is answered 431 and the
        /// connection closed. Default 16 KiB.
        public var maxHeaderBytes: Int
        /// One request body, in bytes; more is answered 413 and the connection closed. Default 16 MiB.
        public var maxBodyBytes: Int
        /// A keep-alive connection with no request for this long is closed. Default 60 s.
        public var idleTimeoutMilliseconds: Int
        /// Whether metrics are kept (and served at `/metrics`); nil = on when `port` is set.
        public var metrics: Metrics?
        /// The role a bearer token needs for `/metrics` when authentication is on; `.none` lets
        /// anyone scrape it (as the health probes). Default `.predict`.
        public var metricsRole: AccessRole

        /// The metrics backend (`--metrics off|prometheus`).
        public enum Metrics: String, Sendable, Hashable {
            case off, prometheus
        }

        public static let defaults = HTTP(
            port: nil,
            maxHeaderBytes: 16 << 10,
            maxBodyBytes: 16 << 20,
            idleTimeoutMilliseconds: 60_000,
            metrics: nil,
            metricsRole: .predict
        )

        public init(
            port: Int?,
            maxHeaderBytes: Int,
            maxBodyBytes: Int,
            idleTimeoutMilliseconds: Int,
            metrics: Metrics?,
            metricsRole: AccessRole
        ) {
            self.port = port
            self.maxHeaderBytes = maxHeaderBytes
            self.maxBodyBytes = maxBodyBytes
            self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
            self.metrics = metrics
            self.metricsRole = metricsRole
        }

        /// Whether metric handles are made: `metrics`, or by default whether the port is on.
        public var metricsEnabled: Bool {
            switch metrics {
            case .off?: false
            case .prometheus?: true
            case nil: port != nil
            }
        }
    }
}
