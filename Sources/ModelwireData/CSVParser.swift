#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A byte-level CSV reader: one pass over UTF-8 bytes, numbers parsed in place with `strtof`
/// (correctly rounded, like `Float(_:)`), so a 45 MB file loads in about a second.
struct CSVParser {
    struct Output {
        var names: [String]
        var labelIndex: Int
        var features: [Float]
        var labels: [String]
        var lineNumbers: [Int]
    }

    private let base: UnsafePointer<UInt8>
    private let count: Int

    /// `buffer` must hold `count` bytes followed by a 0 byte.
    init(_ buffer: UnsafeBufferPointer<UInt8>, count: Int) {
        self.base = buffer.baseAddress!
        self.count = count
    }

    private static let comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n")
    private static let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), cr = UInt8(ascii: "\r")

    private func isBlank(_ b: UInt8) -> Bool { b == Self.space || b == Self.tab || b == Self.cr }

    /// The trimmed byte range [start, end) of a field.
    private func trimmed(_ start: Int, _ end: Int) -> (Int, Int) {
        var (s, e) = (start, end)
        while s < e, self.isBlank(self.base[s]) { s += 1 }
        while e > s, self.isBlank(self.base[e - 1]) { e -= 1 }
        return (s, e)
    }

    private func text(_ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: self.base + start, count: end - start), as: UTF8.self)
    }

    /// The fields of the line starting at `start`: field ranges and the index after the line.
    private func fields(from start: Int, into ranges: inout [(Int, Int)]) -> Int {
        ranges.removeAll(keepingCapacity: true)
        var i = start, fieldStart = start
        while i < self.count, self.base[i] != Self.newline {
            if self.base[i] == Self.comma {
                ranges.append((fieldStart, i))
                fieldStart = i + 1
            }
            i += 1
        }
        ranges.append((fieldStart, i))
        return i + 1
    }

    private func isBlankLine(_ ranges: [(Int, Int)]) -> Bool {
        guard ranges.count == 1 else { return false }
        let (s, e) = self.trimmed(ranges[0].0, ranges[0].1)
        return s == e
    }

    func parse(options: Dataset.CSVOptions) throws(DatasetError) -> Output {
        var position = 0, line = 0
        var ranges = [(Int, Int)]()
        // Header: the first non-blank line.
        repeat {
            guard position < self.count else {
                throw DatasetError(.emptyFile, message: "the file is empty: expected a header row")
            }
            position = self.fields(from: position, into: &ranges)
            line += 1
        } while self.isBlankLine(ranges)
        let headerLine = line
        let names = ranges.map { let (s, e) = self.trimmed($0.0, $0.1); return self.text(s, e) }
        guard names.count >= 2 else {
            throw DatasetError(.wrongColumnCount, line: headerLine,
                               message: "line \(headerLine): the header needs at least one feature and a label")
        }
        let labelIndex: Int
        if let wanted = options.labelColumn {
            guard let found = names.firstIndex(of: wanted) else {
                throw DatasetError(.missingLabelColumn, line: headerLine,
                                   message: "no column named '\(wanted)' in the header (\(names.joined(separator: ", ")))")
            }
            labelIndex = found
        } else {
            labelIndex = names.count - 1
        }

        var output = Output(names: names, labelIndex: labelIndex, features: [], labels: [], lineNumbers: [])
        output.features.reserveCapacity(self.count / 8)
        var labelCache = [String: String]()  // interns repeated label texts
        while position < self.count {
            position = self.fields(from: position, into: &ranges)
            line += 1
            if self.isBlankLine(ranges) { continue }
            guard ranges.count == names.count else {
                throw DatasetError(.wrongColumnCount, line: line,
                                   message: "line \(line): \(ranges.count) fields, the header has \(names.count)")
            }
            for (column, range) in ranges.enumerated() {
                let (s, e) = self.trimmed(range.0, range.1)
                if column == labelIndex {
                    let raw = self.text(s, e)
                    if let interned = labelCache[raw] {
                        output.labels.append(interned)
                    } else {
                        labelCache[raw] = raw
                        output.labels.append(raw)
                    }
                    continue
                }
                output.features.append(try self.number(s, e, line: line, column: column + 1, name: names[column]))
            }
            output.lineNumbers.append(line)
        }
        guard !output.labels.isEmpty else {
            throw DatasetError(.emptyFile, message: "the file has a header and no data rows")
        }
        return output
    }

    private func number(_ s: Int, _ e: Int, line: Int, column: Int, name: String) throws(DatasetError) -> Float {
        var end: UnsafeMutablePointer<CChar>?
        let value = (self.base + s).withMemoryRebound(to: CChar.self, capacity: e - s + 1) { start -> Float in
            let v = strtof(start, &end)
            // strtof may skip leading blanks or read past e only into blanks; require it to end exactly at e.
            if s == e || end.map({ UnsafeRawPointer($0) != UnsafeRawPointer(start + (e - s)) }) ?? true { end = nil }
            return v
        }
        guard end != nil else {
            throw DatasetError(.nonNumeric, line: line, column: column,
                               message: "line \(line), column \(column) ('\(name)'): '\(self.text(s, e))' is not a number")
        }
        guard value.isFinite else {
            throw DatasetError(.nonFinite, line: line, column: column,
                               message: "line \(line), column \(column) ('\(name)'): '\(self.text(s, e))' is not finite")
        }
        return value
    }
}
