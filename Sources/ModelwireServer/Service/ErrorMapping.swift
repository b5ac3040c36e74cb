import Logging
import ModelwireCodec
import ModelwireProtocol

extension ModelwireError {
    /// The one error policy of the server: what the caller is told when a method body, a job or
    /// a storage operation throws `error`.
    ///
    /// A `ModelwireError` is sent as it is. Another `ModelwireErrorConvertible` (a storage
    /// failure, say) is sent as the error it converts to and logged, since it is the server's
    /// fault. Anything else becomes `internal` with a fixed message: its detail is logged, never
    /// sent (it may name files or internals).
    /// - Parameters:
    ///   - error: What was thrown.
    ///   - logger: Where the detail of a server-side failure goes.
    ///   - operation: What failed, for the log line (e.g. "call 7 (evaluate)").
    init(mapping error: any Error, logger: Logger, operation: @autoclosure () -> String) {
        if let error = error as? ModelwireError {
            self = error
        } else if let error = error as? any ModelwireErrorConvertible {
            logger.error("\(operation()) failed: \(error)")
            self = error.modelwireError
        } else {
            logger.error("\(operation()) failed: \(error)")
            self.init(.internal, "\(operation()) failed on the server (see its log)")
        }
    }
}
