/// Why the server cannot start or go on serving, as opposed to one failed call (`ModelwireError`,
/// sent to that call's client). Its message is one line for an operator, e.g.
/// `cannot listen on 127.0.0.1:7411: address already in use`.
public struct ServerRuntimeError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, as a value that new cases never break.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The address could not be bound.
        public static let bindFailed = Code("bind failed")
        /// The repository directory cannot be used (missing permissions, not a directory).
        public static let repositoryUnusable = Code("repository unusable")
        /// A non-loopback address without `--auth-file` (and without `--insecure-no-auth`).
        public static let insecureConfiguration = Code("insecure configuration")
        /// The token file cannot be read or is not valid.
        public static let authFileInvalid = Code("auth file invalid")
        /// A TLS certificate, key or client CA file cannot be read or does not fit.
        public static let tlsFilesInvalid = Code("TLS files invalid")

        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// One line for the operator.
    public var message: String
    /// The underlying error, if any (for logs).
    public var cause: (any Error)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }
}
