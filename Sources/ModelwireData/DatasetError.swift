/// Why a dataset could not be loaded, with the 1-based line and column of the bad value when there is one.
///
/// A struct with an extensible `code`, so adding a case breaks no caller (DESIGN.md §5).
public struct DatasetError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case emptyFile, wrongColumnCount, nonNumeric, nonFinite, singleClass
            case missingLabelColumn, unreadableFile, invalidSplit, unknownClass
            case malformedQuote, duplicateName, numericHeader, featureCountMismatch
            case unknownCategory, missingColumn, columnType, noValues, missingValue
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The file has no header, or a header and no data rows (or a wire dataset has no rows).
        public static let emptyFile = Code(.emptyFile)
        /// A row has more or fewer fields than the header (or feature values do not fill whole rows).
        public static let wrongColumnCount = Code(.wrongColumnCount)
        /// A feature (or a regression target) is not a number.
        public static let nonNumeric = Code(.nonNumeric)
        /// A value is NaN or infinite.
        public static let nonFinite = Code(.nonFinite)
        /// A classification dataset whose label column holds a single class.
        public static let singleClass = Code(.singleClass)
        /// The requested label column is not in the header.
        public static let missingLabelColumn = Code(.missingLabelColumn)
        /// The file could not be opened or read.
        public static let unreadableFile = Code(.unreadableFile)
        /// A split file is malformed or names a row that does not exist.
        public static let invalidSplit = Code(.invalidSplit)
        /// A label is not among a model's classes, or the targets do not fit the model's task.
        public static let unknownClass = Code(.unknownClass)
        /// A quoted field is never closed, or text follows its closing quote.
        public static let malformedQuote = Code(.malformedQuote)
        /// Two header columns have the same name (after trimming spaces).
        public static let duplicateName = Code(.duplicateName)
        /// Every field of the header row is a number: the file seems to have no header.
        public static let numericHeader = Code(.numericHeader)
        /// The rows have more or fewer features than the model expects.
        public static let featureCountMismatch = Code(.featureCountMismatch)

        /// A categorical value never seen in training, under a model whose policy is to refuse it.
        public static let unknownCategory = Code(.unknownCategory)
        /// A table lacks a column the model (or the request) names.
        public static let missingColumn = Code(.missingColumn)
        /// A column's type does not fit its use (text where the model takes numbers, a boolean label, ...).
        public static let columnType = Code(.columnType)
        /// A column holds no value at all (every row missing), so nothing can be learned or imputed from it.
        public static let noValues = Code(.noValues)
        /// A value that must be present (a label, or any value without imputation) is missing.
        public static let missingValue = Code(.missingValue)

        /// The code's name, e.g. `nonNumeric`.
        public var description: String { self.base.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// 1-based line in the file (the header is line 1), when the failure is about one line.
    public var line: Int?
    /// 1-based column (field) number, when the failure is about one field.
    public var column: Int?
    /// A sentence for people, naming the line, column and offending text.
    public var message: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - line: 1-based line, if any.
    ///   - column: 1-based column, if any.
    ///   - message: A human-readable explanation.
    public init(_ code: Code, line: Int? = nil, column: Int? = nil, message: String) {
        self.code = code
        self.line = line
        self.column = column
        self.message = message
    }

    /// `message`: a sentence for people, without the code's name (match `code` for that).
    public var description: String { self.message }
}
