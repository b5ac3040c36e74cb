public import ModelwireCodec

/// A failed call, as both ends see it: a status code (never ok), a message and hints.
///
/// The wire form is `V1.Status` in an ERROR frame. Codes are a struct over the wire number, so a
/// code added later never breaks source.
///
/// Equality and hashing compare what goes on the wire (`code`, `message`, and the hints
/// `retryAfterMilliseconds` and `supportedProtocolVersions`), not `cause`, which stays on the
/// side that created the error: a decoded error equals the one that was sent.
public struct ModelwireError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The status code; never `.ok`.
    public var code: V1.StatusCode
    /// A human-readable message, safe to show to the caller.
    public var message: String
    /// When set, the call may be retried after this many milliseconds.
    public var retryAfterMilliseconds: UInt32?
    /// On handshake failures: the protocol versions the server speaks.
    public var supportedProtocolVersions: [UInt32]
    /// The error this one wraps, when it was made from another (a `FramePayloadError`, say), for
    /// logs and debugging. Never sent on the wire, and not part of equality or hashing.
    public var cause: (any Error)?

    /// Creates an error.
    /// - Parameter cause: The error this one wraps, if any; it stays local.
    /// - Precondition: `code` is not `.ok`.
    public init(
        _ code: V1.StatusCode,
        _ message: String,
        retryAfterMilliseconds: UInt32? = nil,
        supportedProtocolVersions: [UInt32] = [],
        cause: (any Error)? = nil
    ) {
        precondition(code != .ok, "ModelwireError cannot carry status ok")
        self.code = code
        self.message = message
        self.retryAfterMilliseconds = retryAfterMilliseconds
        self.supportedProtocolVersions = supportedProtocolVersions
        self.cause = cause
    }

    /// The error an ERROR frame's status stands for (an `ok` status from a faulty peer becomes `unknown`).
    /// - Parameter cause: The local error this status was made from, if any (it is not in `status`).
    public init(status: V1.Status, cause: (any Error)? = nil) {
        self.init(
            status.code == .ok ? .unknown : status.code,
            status.message,
            retryAfterMilliseconds: status.retryAfterMs,
            supportedProtocolVersions: status.supportedProtocolVersions,
            cause: cause
        )
    }

    /// Equal when `code`, `message` and the hints are; `cause` is not compared.
    public static func == (lhs: ModelwireError, rhs: ModelwireError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.retryAfterMilliseconds == rhs.retryAfterMilliseconds
            && lhs.supportedProtocolVersions == rhs.supportedProtocolVersions
    }

    /// Hashes `code`, `message` and the hints, as `==` compares them.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.code)
        hasher.combine(self.message)
        hasher.combine(self.retryAfterMilliseconds)
        hasher.combine(self.supportedProtocolVersions)
    }

    /// The status to send in an ERROR frame.
    public var status: V1.Status {
        V1.Status(
            code: code,
            message: message,
            retryAfterMs: retryAfterMilliseconds,
            supportedProtocolVersions: supportedProtocolVersions
        )
    }

    public var description: String { "\(code) (\(code.rawValue)): \(message)" }
}

/// An error that knows which `ModelwireError` it becomes on the wire (after gRPC's
/// `RPCErrorConvertible`). Anything else a handler throws becomes `internal`, with the detail
/// logged, not sent.
public protocol ModelwireErrorConvertible: Error {
    /// The error to send to the caller.
    var modelwireError: ModelwireError { get }
}

extension ModelwireError: ModelwireErrorConvertible {
    public var modelwireError: ModelwireError { self }
}
