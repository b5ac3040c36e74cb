public import ModelwireCodec
import ModelwireProtocol

extension ModelwireClient {
    /// How a client connects, times out, retries and compresses. Every value is finite and has a default.
    public struct Configuration: Sendable, Hashable {
        /// Connections kept per endpoint; calls are spread over them round-robin. Default 2.
        public var connectionsPerEndpoint: Int
        /// Time to connect and finish the handshake. Default 5 s.
        public var connectTimeout: Duration
        /// Deadline of unary and client-streaming calls without their own. Default 30 s; nil = none.
        /// Server-streaming calls (train, watchJob) have no default deadline.
        public var defaultTimeout: Duration?
        /// Which failures are retried, and how often.
        public var retryPolicy: RetryPolicy
        /// Compress requests above the server's threshold and accept compressed responses. Default on.
        public var compression: Bool
        /// An endpoint whose connect fails is skipped for this long, doubling per failure up to
        /// `maxEjection`. Default 200 ms.
        public var initialEjection: Duration
        /// The longest an endpoint is skipped. Default 10 s.
        public var maxEjection: Duration
        /// Send a PING after this long without traffic; close the connection when the next
        /// interval passes silently. Default 60 s (servers close idle connections after 5 min).
        public var keepaliveInterval: Duration?
        /// Largest response frame accepted (compressed size). Default 64 MiB.
        public var maxResponseFrameBytes: Int
        /// Largest response message after inflation. Default 256 MiB.
        public var maxResponseMessageBytes: Int
        /// Upper bound of one UploadDataset chunk's encoded size (kept below the server's frame limit). Default 1 MiB.
        public var uploadChunkBytes: Int
        /// Sent in the ClientHello for the server's logs.
        public var clientName: String
        /// A bearer token presented in the handshake, when the server asks for one.
        public var bearerToken: String?
        /// TLS on every connection, for a server started with `--tls-cert`. Default nil: plaintext.
        public var tls: TLS?

        /// The documented defaults.
        public static let defaults = Configuration(
            connectionsPerEndpoint: 2,
            connectTimeout: .seconds(5),
            defaultTimeout: .seconds(30),
            retryPolicy: .defaults,
            compression: true,
            initialEjection: .milliseconds(200),
            maxEjection: .seconds(10),
            keepaliveInterval: .seconds(60),
            maxResponseFrameBytes: 64 << 20,
            maxResponseMessageBytes: 256 << 20,
            uploadChunkBytes: 1 << 20,
            clientName: "modelwire-swift/0.1",
            bearerToken: nil,
            tls: nil
        )

        /// The defaults changed by `configure`.
        public static func defaults(_ configure: (inout Configuration) -> Void) -> Configuration {
            var configuration = Self.defaults
            configure(&configuration)
            return configuration
        }

        /// Creates a configuration; prefer `.defaults` or `.defaults { $0.x = ... }`.
        public init(
            connectionsPerEndpoint: Int,
            connectTimeout: Duration,
            defaultTimeout: Duration?,
            retryPolicy: RetryPolicy,
            compression: Bool,
            initialEjection: Duration,
            maxEjection: Duration,
            keepaliveInterval: Duration?,
            maxResponseFrameBytes: Int,
            maxResponseMessageBytes: Int,
            uploadChunkBytes: Int,
            clientName: String,
            bearerToken: String?,
            tls: TLS? = nil
        ) {
            self.connectionsPerEndpoint = connectionsPerEndpoint
            self.connectTimeout = connectTimeout
            self.defaultTimeout = defaultTimeout
            self.retryPolicy = retryPolicy
            self.compression = compression
            self.initialEjection = initialEjection
            self.maxEjection = maxEjection
            self.keepaliveInterval = keepaliveInterval
            self.maxResponseFrameBytes = maxResponseFrameBytes
            self.maxResponseMessageBytes = maxResponseMessageBytes
            self.uploadChunkBytes = uploadChunkBytes
            self.clientName = clientName
            self.bearerToken = bearerToken
            self.tls = tls
        }

        /// The limits applied to what the server sends.
        var receiveLimits: ProtocolLimits {
            .defaults {
                $0.maxFrameBytes = self.maxResponseFrameBytes
                $0.maxMessageBytes = self.maxResponseMessageBytes
            }
        }
    }

    /// Per-call settings.
    public struct CallOptions: Sendable, Hashable {
        /// The call's deadline from now; nil = the configuration's `defaultTimeout` (unary and
        /// client-streaming) or none (server streaming).
        public var timeout: Duration?
        /// Overrides the configuration's retry policy for this call.
        public var retryPolicy: RetryPolicy?
        /// Sent in the request's `metadata` field (every v1 request has it): e.g. the caller's W3C
        /// `traceparent`, which the server logs with the call (`trace_id`). Overrides the
        /// request's own `metadata` when set.
        public var metadata: V1.CallMetadata?

        /// Creates options.
        public init(timeout: Duration? = nil, retryPolicy: RetryPolicy? = nil, metadata: V1.CallMetadata? = nil) {
            self.timeout = timeout
            self.retryPolicy = retryPolicy
            self.metadata = metadata
        }

        /// `request` with `metadata` in its metadata field; `request` itself when there is none.
        func stamped<Request: ProtobufMessage>(_ request: Request) -> Request {
            guard let metadata, var carrier = request as? any CallMetadataCarrier else { return request }
            carrier.metadata = metadata
            return carrier as? Request ?? request
        }

        /// The configuration's defaults.
        public static let defaults = CallOptions()
    }
}
