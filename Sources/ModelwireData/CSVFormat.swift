/// The byte that separates the fields of a CSV row.
public struct CSVDelimiter: Sendable, Hashable, CustomStringConvertible {
    /// The ASCII byte.
    public let byte: UInt8

    private init(byte: UInt8) { self.byte = byte }

    /// `,`
    public static let comma = CSVDelimiter(byte: UInt8(ascii: ","))
    /// `;` (common where `,` is the decimal separator)
    public static let semicolon = CSVDelimiter(byte: UInt8(ascii: ";"))
    /// A tab (`.tsv` files).
    public static let tab = CSVDelimiter(byte: UInt8(ascii: "\t"))

    /// The delimiters that detection chooses among, in the order that breaks ties.
    public static let detectable: [CSVDelimiter] = [.comma, .semicolon, .tab]

    /// A delimiter from its text: one ASCII punctuation character such as `,` `;` `|`, or a tab
    /// written as a tab character, `\t` or `tab`.
    ///
    /// Letters, digits, spaces, quotes and the characters of numbers (`.` `+` `-`) are refused,
    /// since they would be read as part of a field.
    /// - Parameter text: The delimiter's text.
    public init?(_ text: String) {
        switch text {
        case "\t", "\\t", "tab", "TAB": self = .tab
        default:
            guard text.utf8.count == 1, let byte = text.utf8.first, byte > 0x20, byte < 0x7F else { return nil }
            let scalar = Unicode.Scalar(byte)
            guard !Character(scalar).isLetter, !Character(scalar).isNumber,
                !["\"", ".", "+", "-"].contains(Character(scalar))
            else { return nil }
            self.init(byte: byte)
        }
    }

    /// The delimiter as people write it: `,` or `tab`.
    public var description: String { Self.name(self.byte) }

    /// A delimiter byte as people write it.
    static func name(_ byte: UInt8) -> String { byte == UInt8(ascii: "\t") ? "tab" : String(Unicode.Scalar(byte)) }
}

/// How a CSV text is laid out: its delimiter, and whether its first row names the columns.
///
/// Fields follow RFC 4180: a field may be quoted (`"a, b"`), a quote inside a quoted field is
/// written twice (`""`), and a quoted field may hold delimiters and line breaks. A UTF-8 byte
/// order mark is skipped, lines end with LF or CRLF, blank lines are skipped, and spaces
/// around fields (and tabs, unless the tab is the delimiter) are trimmed.
public struct CSVFormat: Sendable, Hashable {
    /// The delimiter; `nil` detects it from the first non-blank line: the most frequent of
    /// `,` `;` and tab outside quotes (ties in that order; none found means `,`).
    public var delimiter: CSVDelimiter?
    /// Whether the first non-blank line is a header of column names. Without one, the columns
    /// are named `f1`, `f2`, ... in order. A header whose fields are all numbers is refused
    /// (`.numericHeader`): such a file seems to have no header.
    public var hasHeader: Bool

    /// Creates a format.
    /// - Parameters:
    ///   - delimiter: The delimiter, or `nil` to detect it.
    ///   - hasHeader: Whether the first row names the columns.
    public init(delimiter: CSVDelimiter? = nil, hasHeader: Bool = true) {
        self.delimiter = delimiter
        self.hasHeader = hasHeader
    }

    /// A header row and a detected delimiter.
    public static let standard = CSVFormat()
}
