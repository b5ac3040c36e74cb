#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A byte-level RFC 4180 CSV reader (see ``CSVFormat``): one pass over UTF-8 bytes, one row at
/// a time, numbers parsed in place with `strtof` (correctly rounded, like `Float(_:)`), so a
/// 45 MB file loads in about a second.
struct CSVParser {
    /// One field: the byte range of its content (inside the quotes for a quoted field).
    struct Field {
        var start: Int
        var end: Int
        /// The field holds `""`, which stands for one quote.
        var escapes: Bool
        /// The field was quoted (its range is not trimmed yet).
        var quoted: Bool
    }

    private let base: UnsafePointer<UInt8>
    private let count: Int
    /// The delimiter byte, given or detected.
    let delimiter: UInt8
    /// Whether a tab is blank (trimmed) rather than the delimiter.
    private let tabIsBlank: Bool
    /// Where the next row starts.
    private var position: Int
    /// The 1-based line at `position`.
    private var line = 1

    private static let newline = UInt8(ascii: "\n"), quote = UInt8(ascii: "\"")
    private static let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), cr = UInt8(ascii: "\r")

    /// `buffer` must hold `count` bytes followed by a 0 byte. A UTF-8 byte order mark is skipped.
    init(_ buffer: UnsafeBufferPointer<UInt8>, count: Int, delimiter: CSVDelimiter?) {
        self.base = buffer.baseAddress!
        self.count = count
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        self.position = count >= 3 && (0..<3).allSatisfy { buffer[$0] == bom[$0] } ? 3 : 0
        self.delimiter = delimiter?.byte ?? Self.detect(self.base, from: self.position, count: count)
        self.tabIsBlank = self.delimiter != Self.tab
    }

    /// The most frequent detectable delimiter outside quotes on the first non-blank line
    /// (ties in `CSVDelimiter.detectable`'s order; none found: `,`).
    private static func detect(_ base: UnsafePointer<UInt8>, from start: Int, count: Int) -> UInt8 {
        let candidates = CSVDelimiter.detectable.map(\.byte)
        var tally = [Int](repeating: 0, count: candidates.count)
        var i = start
        var quoted = false
        var sawText = false
        while i < count {
            let b = base[i]
            if b == quote {
                quoted.toggle()
                sawText = true
            } else if !quoted, b == newline {
                if sawText || tally.contains(where: { $0 > 0 }) { break }
            } else if !quoted, let k = candidates.firstIndex(of: b) {
                tally[k] += 1
            } else if b != space, b != cr {
                sawText = true
            }
            i += 1
        }
        guard let best = tally.max(), best > 0 else { return UInt8(ascii: ",") }
        return candidates[tally.firstIndex(of: best)!]
    }

    @inline(__always)
    private func isBlank(_ b: UInt8) -> Bool {
        b <= Self.space && (b == Self.space || b == Self.cr || (b == Self.tab && self.tabIsBlank))
    }

    /// A field's text: unquoted, `""` read as `"`, spaces (and tabs) around it trimmed.
    func text(_ field: Field) -> String {
        let raw = UnsafeBufferPointer(start: self.base + field.start, count: field.end - field.start)
        var s = 0
        var e = raw.count
        while s < e, raw[s] == Self.space || raw[s] == Self.tab { s += 1 }
        while e > s, raw[e - 1] == Self.space || raw[e - 1] == Self.tab { e -= 1 }
        guard field.escapes else { return String(decoding: UnsafeBufferPointer(rebasing: raw[s..<e]), as: UTF8.self) }
        var bytes = [UInt8]()
        bytes.reserveCapacity(e - s)
        var i = s
        while i < e {
            bytes.append(raw[i])
            i += raw[i] == Self.quote && i + 1 < e && raw[i + 1] == Self.quote ? 2 : 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The next non-blank row's fields; the 1-based line it starts on, or `nil` at the end.
    /// - Throws: `.malformedQuote` for a quoted field that is never closed or has text after its closing quote.
    mutating func nextRow(into fields: inout [Field]) throws(DatasetError) -> Int? {
        while self.position < self.count {
            let rowLine = self.line
            fields.removeAll(keepingCapacity: true)
            var i = self.position
            var blank = true
            while true {
                while i < self.count, self.isBlank(self.base[i]) { i += 1 }
                if i < self.count, self.base[i] == Self.quote {
                    blank = false
                    let (openLine, column) = (self.line, fields.count + 1)
                    i += 1
                    var field = Field(start: i, end: i, escapes: false, quoted: true)
                    while true {
                        guard i < self.count else {
                            throw DatasetError(
                                .malformedQuote,
                                line: openLine,
                                column: column,
                                message: "line \(openLine), column \(column): the quoted field is never closed"
                            )
                        }
                        let b = self.base[i]
                        if b == Self.quote {
                            if i + 1 < self.count, self.base[i + 1] == Self.quote {
                                field.escapes = true
                                i += 2
                                continue
                            }
                            field.end = i
                            i += 1
                            break
                        }
                        if b == Self.newline { self.line += 1 }
                        i += 1
                    }
                    while i < self.count, self.isBlank(self.base[i]) { i += 1 }
                    if i < self.count, self.base[i] != self.delimiter, self.base[i] != Self.newline {
                        throw DatasetError(
                            .malformedQuote,
                            line: self.line,
                            column: column,
                            message: "line \(self.line), column \(column): text after the closing quote "
                                + "(a quote inside a quoted field is written twice: \"\")"
                        )
                    }
                    fields.append(field)
                } else {
                    let start = i
                    let (base, count, delimiter) = (self.base, self.count, self.delimiter)
                    while i < count {
                        let b = base[i]
                        if b == delimiter || b == Self.newline { break }
                        i += 1
                    }
                    var e = i  // leading blanks were skipped above
                    while e > start, self.isBlank(self.base[e - 1]) { e -= 1 }
                    if start != e { blank = false }
                    fields.append(Field(start: start, end: e, escapes: false, quoted: false))
                }
                if i < self.count, self.base[i] == self.delimiter {
                    blank = false
                    i += 1
                    continue
                }
                if i < self.count {  // the newline
                    i += 1
                    self.line += 1
                }
                break
            }
            self.position = i
            if blank { continue }
            return rowLine
        }
        return nil
    }

    /// The header's names (trimmed), or `f1`...`fn` without a header (the first row is then
    /// left to be read as data); and the header's line.
    /// - Throws: `.emptyFile`, `.duplicateName`, `.numericHeader`, `.malformedQuote`.
    mutating func header(hasHeader: Bool) throws(DatasetError) -> (names: [String], line: Int) {
        var fields = [Field]()
        let saved = self
        guard let headerLine = try self.nextRow(into: &fields) else {
            throw DatasetError(
                .emptyFile,
                message: hasHeader ? "the file is empty: expected a header row" : "the file is empty"
            )
        }
        guard hasHeader else {
            self = saved
            return ((1...fields.count).map { "f\($0)" }, headerLine)
        }
        let names = fields.map(self.text)
        if fields.allSatisfy({ self.isNumber($0) }) {
            let shown = names.prefix(4).joined(separator: ", ") + (names.count > 4 ? ", ..." : "")
            throw DatasetError(
                .numericHeader,
                line: headerLine,
                message: "line \(headerLine): every field of the header row is a number (\(shown)): "
                    + "the file seems to have no header; add a header row, or read it as headerless (--no-header)"
            )
        }
        var seen = [String: Int]()
        for (column, name) in names.enumerated() {
            if let first = seen[name] {
                throw DatasetError(
                    .duplicateName,
                    line: headerLine,
                    column: column + 1,
                    message:
                        "line \(headerLine): the header names '\(name)' twice (columns \(first + 1) and \(column + 1))"
                )
            }
            seen[name] = column
        }
        return (names, headerLine)
    }

    /// The `.wrongColumnCount` error of a row with `got` fields where the header has `expected`.
    func raggedRow(line: Int, got: Int, expected: Int, hasHeader: Bool) -> DatasetError {
        let column = got < expected ? got + 1 : expected + 1
        return DatasetError(
            .wrongColumnCount,
            line: line,
            column: column,
            message: "line \(line), column \(column): \(got) fields, "
                + (hasHeader ? "the header has \(expected)" : "the first row has \(expected)")
        )
    }

    /// The content range with blanks trimmed (a quoted field's spaces inside the quotes too).
    @inline(__always)
    private func contentRange(_ field: Field) -> (Int, Int) {
        var (s, e) = (field.start, field.end)
        if !field.quoted { return (s, e) }  // trimmed when read
        while s < e, self.base[s] == Self.space || self.base[s] == Self.tab || self.base[s] == Self.cr { s += 1 }
        while e > s, self.base[e - 1] == Self.space || self.base[e - 1] == Self.tab || self.base[e - 1] == Self.cr {
            e -= 1
        }
        return (s, e)
    }

    /// `strtof` of a field's whole content, or `nil` when it is not exactly one number.
    @inline(__always)
    private func parse(_ field: Field) -> Float? {
        if field.escapes { return nil }
        let (s, e) = self.contentRange(field)
        if s == e { return nil }
        var end: UnsafeMutablePointer<CChar>?
        let value = (self.base + s).withMemoryRebound(to: CChar.self, capacity: e - s + 1) { start -> Float in
            let v = strtof(start, &end)
            // The byte at e is a delimiter, blank, quote, newline or the final 0, none of which
            // continues a number: strtof must end exactly at e.
            if end.map({ UnsafeRawPointer($0) != UnsafeRawPointer(start + (e - s)) }) ?? true { end = nil }
            return v
        }
        return end == nil ? nil : value
    }

    private func isNumber(_ field: Field) -> Bool { self.parse(field) != nil }

    /// A field as a finite number, or `nil` (then ``numberError(_:line:column:names:)`` says why).
    @inline(__always)
    func finiteNumber(_ field: Field) -> Float? {
        guard let value = self.parse(field), value.isFinite else { return nil }
        return value
    }

    /// Why a field is not a finite number: `.nonNumeric` or `.nonFinite`, naming the line, column and column name.
    func numberError(_ field: Field, line: Int, column: Int, names: [String]) -> DatasetError {
        let name = names[column - 1]
        let text = self.text(field)
        if self.parse(field) == nil {
            return DatasetError(
                .nonNumeric,
                line: line,
                column: column,
                message: "line \(line), column \(column) ('\(name)'): '\(text)' is not a number"
            )
        }
        return DatasetError(
            .nonFinite,
            line: line,
            column: column,
            message: "line \(line), column \(column) ('\(name)'): '\(text)' is not finite"
        )
    }

    /// Runs `body` on a parser over `bytes`, which must end with one extra 0 byte.
    static func with<T>(
        _ bytes: [UInt8],
        delimiter: CSVDelimiter?,
        _ body: (inout CSVParser) throws(DatasetError) -> T
    ) throws(DatasetError) -> T {
        try bytes.withUnsafeBufferPointer { buffer throws(DatasetError) in
            var parser = CSVParser(buffer, count: buffer.count - 1, delimiter: delimiter)
            return try body(&parser)
        }
    }
}
