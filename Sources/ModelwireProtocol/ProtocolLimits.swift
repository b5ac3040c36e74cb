public import ModelwireCodec

/// Every limit a Modelwire endpoint enforces on a connection. All finite; exceeding one is a
/// typed error, never a hang. Sent to clients in `V1.ServerHello.limits`.
public struct ProtocolLimits: Sendable, Hashable {
    /// Largest frame payload on the wire (after compression). Default 16 MiB.
    public var maxFrameBytes: Int
    /// Largest message after inflation. Default 64 MiB.
    public var maxMessageBytes: Int
    /// Largest inflated/compressed ratio of one payload. Default 200.
    public var maxDecompressionRatio: Int
    /// The ratio limit applies only to payloads that inflate past this many bytes. Default 1 MiB.
    public var ratioCheckMinBytes: Int
    /// Calls open at once on one connection. Default 256.
    public var maxConcurrentCalls: Int
    /// Payloads smaller than this are never compressed. Default 1024 bytes.
    public var compressionThresholdBytes: Int
    /// A connection with no frame for this long is closed. Default 5 minutes.
    public var idleTimeoutMilliseconds: Int
    /// Rows in one predict call. Default 65 536.
    public var maxRowsPerPredict: Int
    /// Size of one uploaded dataset. Default 256 MiB.
    public var maxDatasetBytes: Int

    /// The documented defaults (PROTOCOL.md §"Limits").
    public static let defaults = ProtocolLimits(
        maxFrameBytes: 16 << 20,
        maxMessageBytes: 64 << 20,
        maxDecompressionRatio: 200,
        maxConcurrentCalls: 256,
        compressionThresholdBytes: 1024,
        idleTimeoutMilliseconds: 300_000,
        maxRowsPerPredict: 65_536,
        maxDatasetBytes: 256 << 20,
        ratioCheckMinBytes: 1 << 20
    )

    /// The defaults changed by `configure`.
    public static func defaults(configure: (inout ProtocolLimits) -> Void) -> ProtocolLimits {
        var limits = Self.defaults
        configure(&limits)
        return limits
    }

    /// Creates limits; prefer `.defaults` or `.defaults { ... }`.
    public init(
        maxFrameBytes: Int,
        maxMessageBytes: Int,
        maxDecompressionRatio: Int,
        maxConcurrentCalls: Int,
        compressionThresholdBytes: Int,
        idleTimeoutMilliseconds: Int,
        maxRowsPerPredict: Int,
        maxDatasetBytes: Int,
        ratioCheckMinBytes: Int = 1 << 20
    ) {
        self.maxFrameBytes = maxFrameBytes
        self.maxMessageBytes = maxMessageBytes
        self.maxDecompressionRatio = maxDecompressionRatio
        self.maxConcurrentCalls = maxConcurrentCalls
        self.compressionThresholdBytes = compressionThresholdBytes
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
        self.maxRowsPerPredict = maxRowsPerPredict
        self.maxDatasetBytes = maxDatasetBytes
        self.ratioCheckMinBytes = ratioCheckMinBytes
    }

    /// The limits as carried in a ServerHello.
    public var message: V1.Limits {
        V1.Limits(
            maxFrameBytes: Self.clamp(maxFrameBytes),
            maxMessageBytes: Self.clamp(maxMessageBytes),
            maxDecompressionRatio: Self.clamp(maxDecompressionRatio),
            maxConcurrentCalls: Self.clamp(maxConcurrentCalls),
            compressionThresholdBytes: Self.clamp(compressionThresholdBytes),
            idleTimeoutMs: Self.clamp(idleTimeoutMilliseconds),
            maxRowsPerPredict: Self.clamp(maxRowsPerPredict),
            maxDatasetBytes: Self.clamp(maxDatasetBytes),
            ratioCheckMinBytes: Self.clamp(ratioCheckMinBytes)
        )
    }

    /// Limits as a server announced them (a zero field keeps the local default).
    public init(_ message: V1.Limits) {
        func pick(_ v: UInt32, _ d: Int) -> Int { v == 0 ? d : Int(v) }
        let d = Self.defaults
        self.init(
            maxFrameBytes: pick(message.maxFrameBytes, d.maxFrameBytes),
            maxMessageBytes: pick(message.maxMessageBytes, d.maxMessageBytes),
            maxDecompressionRatio: pick(message.maxDecompressionRatio, d.maxDecompressionRatio),
            maxConcurrentCalls: pick(message.maxConcurrentCalls, d.maxConcurrentCalls),
            compressionThresholdBytes: pick(message.compressionThresholdBytes, d.compressionThresholdBytes),
            idleTimeoutMilliseconds: pick(message.idleTimeoutMs, d.idleTimeoutMilliseconds),
            maxRowsPerPredict: pick(message.maxRowsPerPredict, d.maxRowsPerPredict),
            maxDatasetBytes: pick(message.maxDatasetBytes, d.maxDatasetBytes),
            ratioCheckMinBytes: pick(message.ratioCheckMinBytes, d.ratioCheckMinBytes)
        )
    }

    private static func clamp(_ v: Int) -> UInt32 { UInt32(clamping: v) }
}
