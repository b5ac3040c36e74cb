/// Why training did not produce a model, or why a snapshot cannot become one.
public struct TrainingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case cancelled, invalidArgument, diverged, invalidSnapshot
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The caller's `isCancelled` returned true between two batches.
        public static let cancelled = Code(.cancelled)
        /// The spec, options or dataset do not fit together (e.g. an SVM on regression targets).
        public static let invalidArgument = Code(.invalidArgument)
        /// The loss became NaN or infinite.
        public static let diverged = Code(.diverged)
        /// A snapshot's sizes do not fit together (e.g. a layer's weights are not inputs × units).
        public static let invalidSnapshot = Code(.invalidSnapshot)

        /// The code's name.
        public var description: String { self.base.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// A sentence for people.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(self.code): \(self.message)" }
}
