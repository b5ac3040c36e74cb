import Foundation
import ModelwireData
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The RFC 4180 reader: quoting, BOM, line ends, delimiters, header rules, and where errors point.
@Suite struct RFC4180Tests {
    @Test("a UTF-8 byte order mark is not part of the first name")
    func byteOrderMark() throws {
        let d = try Dataset(csvBytes: [0xEF, 0xBB, 0xBF] + Array("x,y,label\n1,2,a\n3,4,b\n".utf8))
        #expect(d.featureNames == ["x", "y"])
        #expect(d.features == [1, 2, 3, 4])
        let e = #expect(throws: DatasetError.self) { try Dataset(csvBytes: [0xEF, 0xBB, 0xBF]) }
        #expect(e?.code == .emptyFile)
    }

    @Test("quoted fields: numbers, embedded delimiters, \"\" escapes and line breaks")
    func quotedFields() throws {
        let csv =
            #""sepal, length","the ""width""",label"# + "\n"
            + #""14.2", 3 ,"a, b""# + "\n"
            + #"1.5,"2","line one"# + "\n" + #"line two""# + "\n"
            + #"" 7 ",8,"say ""hi""""# + "\n"
        let d = try Dataset(csv: csv)
        #expect(d.featureNames == ["sepal, length", "the \"width\""])
        #expect(d.features == [14.2, 3, 1.5, 2, 7, 8])
        #expect(d.rows == 3)
        #expect(Set(d.classNames) == ["a, b", "line one\nline two", "say \"hi\""])
    }

    @Test("CRLF and LF line ends, blank lines and a missing final newline")
    func lineEnds() throws {
        let crlf = try Dataset(csv: "x,y,label\r\n1,2,a\r\n\r\n3,4,b\r\n")
        let lf = try Dataset(csv: "x,y,label\n1,2,a\n\n3,4,b")
        #expect(crlf == lf)
        #expect(crlf.classNames == ["a", "b"])
        let quotedCR = try Dataset(csv: "x,label\r\n\"1\",\"a\"\r\n2,b\r\n")
        #expect(quotedCR.features == [1, 2])
        #expect(quotedCR.classNames == ["a", "b"])
    }

    @Test("a semicolon file is detected from its header, commas inside fields stay")
    func semicolon() throws {
        let d = try Dataset(csv: "a;b;label\n1;2;x,y\n3;4;z\n")
        #expect(d.featureNames == ["a", "b"])
        #expect(d.classNames == ["x,y", "z"])
        // A quoted header name holding commas does not make it a comma file.
        let q = try Dataset(csv: "\"a,b,c\";d;label\n1;2;x\n3;4;y\n")
        #expect(q.featureNames == ["a,b,c", "d"])
    }

    @Test("a tab file is detected; spaces around fields are trimmed, tabs are delimiters")
    func tab() throws {
        let d = try Dataset(csv: "a\tb b\tlabel\n 1 \t2\tx\n3\t4\ty\n")
        #expect(d.featureNames == ["a", "b b"])
        #expect(d.features == [1, 2, 3, 4])
        let e = #expect(throws: DatasetError.self) { try Dataset(csv: "a\tb\tlabel\n1\t\t2\tx\n") }
        #expect(e?.code == .wrongColumnCount)
    }

    @Test("an explicit delimiter wins over detection")
    func explicitDelimiter() throws {
        let pipe = try Dataset(
            csv: "a|b|label\n1|2|x;y\n3|4|z\n",
            options: .init(format: .init(delimiter: CSVDelimiter("|")))
        )
        #expect(pipe.featureNames == ["a", "b"])
        #expect(pipe.classNames == ["x;y", "z"])
        // Detection would take ';' (two of them) over ',' (one).
        let comma = try Dataset(
            csv: "a;x,b;y;label\n1,2\n3,4\n",
            options: .init(format: .init(delimiter: .comma))
        )
        #expect(comma.featureNames == ["a;x"])
        #expect(comma.classNames == ["2", "4"])
        #expect(CSVDelimiter("tab") == .tab && CSVDelimiter("\\t") == .tab && CSVDelimiter("\t") == .tab)
        #expect(CSVDelimiter(";") == .semicolon && CSVDelimiter(",") == .comma)
        for bad in ["", "ab", "x", "1", ".", "-", "\"", " ", "é"] { #expect(CSVDelimiter(bad) == nil, "\(bad)") }
        #expect(CSVDelimiter.tab.description == "tab" && CSVDelimiter.semicolon.description == ";")
    }

    @Test("header names are trimmed; a duplicate name is refused, naming it")
    func duplicateName() throws {
        let d = try Dataset(csv: " a , b ,label\n1,2,x\n3,4,y\n")
        #expect(d.featureNames == ["a", "b"])
        let e = #expect(throws: DatasetError.self) { try Dataset(csv: "a,b, a,label\n1,2,3,x\n") }
        #expect(e?.code == .duplicateName)
        #expect(e?.line == 1)
        #expect(e?.column == 3)
        #expect(e?.message.contains("'a'") == true)
    }

    @Test("a header of numbers only is refused: the file seems to have no header")
    func numericHeader() throws {
        let e = #expect(throws: DatasetError.self) { try Dataset(csv: "14.23,1.71,0\n13.2,1.78,1\n12.1,1.2,0\n") }
        #expect(e?.code == .numericHeader)
        #expect(e?.line == 1)
        #expect(e?.message.contains("seems to have no header") == true)
        #expect(e?.message.contains("14.23") == true)
        let quoted = #expect(throws: DatasetError.self) { try Dataset(csv: "\"1\",\"2\"\n3,4\n") }
        #expect(quoted?.code == .numericHeader)
        // One name among numbers is a header.
        #expect(try Dataset(csv: "1,2,label\n3,4,a\n5,6,b\n").featureNames == ["1", "2"])
    }

    @Test("hasHeader: false reads every line as data and names the columns f1...fn")
    func noHeader() throws {
        let d = try Dataset(
            csv: "14.23,1.71,0\n13.2,1.78,1\n12.1,1.2,0\n",
            options: .init(format: .init(hasHeader: false))
        )
        #expect(d.rows == 3)
        #expect(d.featureNames == ["f1", "f2"])
        #expect(d.features == [14.23, 1.71, 13.2, 1.78, 12.1, 1.2])
        #expect(d.classNames == ["0", "1"])
        let first = try Dataset(
            csv: "0;1;2\n1;3;4\n",
            options: .init(labelColumn: "f1", format: .init(hasHeader: false))
        )
        #expect(first.featureNames == ["f2", "f3"])
        #expect(first.classIDs == [0, 1])
        let ragged = #expect(throws: DatasetError.self) {
            try Dataset(csv: "1,2,a\n3,b\n", options: .init(format: .init(hasHeader: false)))
        }
        #expect(ragged?.line == 2)
        #expect(ragged?.message.contains("the first row has 3") == true)
    }

    @Test("a ragged row names its line and the first missing or extra column")
    func raggedRow() {
        let short = #expect(throws: DatasetError.self) { try Dataset(csv: "a,b,label\n1,2,x\n3,4\n") }
        #expect(short?.code == .wrongColumnCount)
        #expect(short?.line == 3)
        #expect(short?.column == 3)
        #expect(short?.message.hasPrefix("line 3, column 3: 2 fields, the header has 3") == true)
        let long = #expect(throws: DatasetError.self) { try Dataset(csv: "a,b,label\n\n1,2,x,9\n") }
        #expect(long?.line == 3)
        #expect(long?.column == 4)
    }

    @Test("empty input: nothing, blank lines only, a header only")
    func emptyFile() {
        for text in ["", "\n\n  \r\n", "\u{FEFF}"] {
            let e = #expect(throws: DatasetError.self) { try Dataset(csv: text) }
            #expect(e?.code == .emptyFile)
            #expect(e?.message.contains("empty") == true)
        }
        let headerOnly = #expect(throws: DatasetError.self) { try Dataset(csv: "a,label\r\n") }
        #expect(headerOnly?.code == .emptyFile)
        let noHeader = #expect(throws: DatasetError.self) {
            try Dataset(csv: "", options: .init(format: .init(hasHeader: false)))
        }
        #expect(noHeader?.code == .emptyFile)
    }

    @Test("errors point at the physical line, after quoted line breaks, and the 1-based column")
    func errorLineAndColumn() {
        let csv = "a,b,label\n1,2,\"two\nlines\"\n3,x7,y\n"
        let e = #expect(throws: DatasetError.self) { try Dataset(csv: csv) }
        #expect(e?.code == .nonNumeric)
        #expect(e?.line == 4)
        #expect(e?.column == 2)
        #expect(e?.message == "line 4, column 2 ('b'): 'x7' is not a number")
        let quoted = #expect(throws: DatasetError.self) { try Dataset(csv: "a,label\n\"1\"\"\",x\n") }
        #expect(quoted?.code == .nonNumeric)
        #expect(quoted?.column == 1)
        let infinite = #expect(throws: DatasetError.self) { try Dataset(csv: "a;label\n1;x\n\"inf\";y\n") }
        #expect(infinite?.code == .nonFinite)
        #expect(infinite?.line == 3)
    }

    @Test("a quoted field never closed, or with text after its closing quote")
    func malformedQuotes() {
        let open = #expect(throws: DatasetError.self) { try Dataset(csv: "a,label\n1,x\n2,\"y\n3,z\n") }
        #expect(open?.code == .malformedQuote)
        #expect(open?.line == 3)
        #expect(open?.column == 2)
        let after = #expect(throws: DatasetError.self) { try Dataset(csv: "a,label\n\"1\"2,x\n") }
        #expect(after?.code == .malformedQuote)
        #expect(after?.line == 2)
        #expect(after?.column == 1)
    }

    @Test("a file read with the wrong delimiter: the message names the delimiter used")
    func oneColumnNamesTheDelimiter() {
        let e = #expect(throws: DatasetError.self) { try Dataset(csv: "a|b\n1|2\n") }
        #expect(e?.code == .wrongColumnCount)
        #expect(e?.message.contains("delimiter ','") == true)
    }

    @Test("unreadable files give the reason")
    func unreadableReasons() throws {
        let missing = #expect(throws: DatasetError.self) { try Dataset(contentsOfCSV: "/nonexistent/nope.csv") }
        #expect(missing?.code == .unreadableFile)
        #expect(missing?.message == "cannot read /nonexistent/nope.csv: no such file")
        let directory = #expect(throws: DatasetError.self) { try Dataset(contentsOfCSV: NSTemporaryDirectory()) }
        #expect(directory?.message == "cannot read \(NSTemporaryDirectory()): is a directory")
        let raw = #expect(throws: FileReadError.self) { try readFileContents("/nonexistent/nope.csv") }
        #expect(raw?.reason == "no such file")
        #expect(FileReadError.reason(errno: EACCES) == "permission denied")
        #expect(FileReadError.reason(errno: EISDIR) == "is a directory")
    }
}

/// Predict's reader: the model's columns, chosen from the header.
@Suite struct FeatureRowsTests {
    @Test("columns are chosen from the header and read in that order; other columns may hold text")
    func chosenColumns() throws {
        let csv = Array("b;label;a\n2;x;1\n\"4\";y;3\n".utf8)
        let rows = try FeatureRows(csvBytes: csv) { header throws(DatasetError) in
            #expect(header == ["b", "label", "a"])
            return [2, 0]
        }
        #expect(rows.names == ["a", "b"])
        #expect(rows.rows == 2)
        #expect(rows.values == [1, 2, 3, 4])
        #expect(Array(rows.row(1)) == [3, 4])
    }

    @Test("the model's columns: by name, by count, or count plus a label")
    func modelColumns() {
        #expect(
            FeatureRows.modelColumns(
                header: ["b", "label", "a"],
                featureNames: ["a", "b"],
                featureCount: 2,
                labelColumn: nil
            ) == [2, 0]
        )
        #expect(
            FeatureRows.modelColumns(header: ["x", "y"], featureNames: [], featureCount: 2, labelColumn: nil) == [0, 1]
        )
        #expect(
            FeatureRows.modelColumns(
                header: ["Target", "x", "y"],
                featureNames: [],
                featureCount: 2,
                labelColumn: nil
            ) == [1, 2]
        )
        #expect(
            FeatureRows.modelColumns(header: ["t", "x", "y"], featureNames: [], featureCount: 2, labelColumn: "t") == [
                1, 2,
            ]
        )
        #expect(FeatureRows.modelColumns(header: ["x"], featureNames: [], featureCount: 2, labelColumn: nil) == nil)
    }

    @Test("the same rules as datasets: no header, numeric header, duplicates, ragged rows, no rows")
    func sharedRules() throws {
        let all = { (_: [String]) throws(DatasetError) -> [Int] in [0, 1] }
        let headerless = try FeatureRows(
            csvBytes: Array("1\t2\n3\t4\n".utf8),
            format: .init(hasHeader: false),
            columns: all
        )
        #expect(headerless.names == ["f1", "f2"])
        #expect(headerless.values == [1, 2, 3, 4])
        let numeric = #expect(throws: DatasetError.self) {
            try FeatureRows(csvBytes: Array("1,2\n3,4\n".utf8), columns: all)
        }
        #expect(numeric?.code == .numericHeader)
        let duplicate = #expect(throws: DatasetError.self) {
            try FeatureRows(csvBytes: Array("a,a\n3,4\n".utf8), columns: all)
        }
        #expect(duplicate?.code == .duplicateName)
        let ragged = #expect(throws: DatasetError.self) {
            try FeatureRows(csvBytes: Array("a,b\n3\n".utf8), columns: all)
        }
        #expect(ragged?.line == 2)
        #expect(ragged?.column == 2)
        let empty = #expect(throws: DatasetError.self) { try FeatureRows(csvBytes: Array("a,b\n".utf8), columns: all) }
        #expect(empty?.code == .emptyFile)
    }
}
