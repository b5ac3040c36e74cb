import Foundation
import ModelwireData
import Testing

/// A table read from CSV text.
private func table(_ csv: String, textColumns: Set<String> = [], missingTokens: Set<String>? = nil) throws -> DataTable
{
    try DataTable(
        csvBytes: Array(csv.utf8),
        missingTokens: missingTokens ?? DataTable.defaultMissingTokens,
        textColumns: textColumns
    )
}

@Suite struct DataTableCSVTests {
    @Test func infersBoolsFloatsTextAndAllMissing() throws {
        let t = try table("b,f,t,m,z\ntrue,1.5,x,,007\nFALSE,2,3,NA,12\nTrue,-3e1,y,?,\n", textColumns: ["z"])
        #expect(t.names == ["b", "f", "t", "m", "z"])
        #expect(t.rows == 3)
        #expect(t.column(named: "b") == DataTable.Column(name: "b", values: .bools([true, false, true])))
        #expect(t.column(named: "f") == DataTable.Column(name: "f", values: .floats([1.5, 2, -30])))
        // One text value makes a number column text.
        #expect(t.column(named: "t") == DataTable.Column(name: "t", values: .strings(["x", "3", "y"])))
        #expect(
            t.column(named: "m")
                == DataTable.Column(name: "m", values: .floats([0, 0, 0]), missing: [true, true, true])
        )
        // A text column keeps its leading zero.
        #expect(
            t.column(named: "z")
                == DataTable.Column(name: "z", values: .strings(["007", "12", ""]), missing: [false, false, true])
        )
    }

    @Test func textColumnsStayTextEvenWhenAllMissingOrBoolean() throws {
        let t = try table("a,b,c\nNA,true,1\n,false,2\n", textColumns: ["a", "b", "absent"])
        #expect(t.column(named: "a")?.values == .strings(["", ""]))
        #expect(t.column(named: "a")?.missing == [true, true])
        #expect(t.column(named: "b")?.values == .strings(["true", "false"]))
        #expect(t.column(named: "c")?.values == .floats([1, 2]))
    }

    @Test(arguments: DataTable.defaultMissingTokens.sorted())
    func eachMissingToken(token: String) throws {
        let t = try table("a,b\n\(token),1\n5,2\n")
        #expect(t.column(named: "a") == DataTable.Column(name: "a", values: .floats([0, 5]), missing: [true, false]))
        #expect(t.column(named: "a")?.isMissing(0) == true)
        #expect(t.column(named: "b")?.missing == [])
    }

    @Test func tokensMatchTrimmedTextExactly() throws {
        let t = try table("a,b\n NA ,na\n1,x\n")
        #expect(t.column(named: "a")?.missing == [true, false])
        #expect(t.column(named: "b")?.values == .strings(["na", "x"]))  // tokens are case-sensitive
        #expect(t.column(named: "b")?.missing == [])
    }

    @Test func quotedFields() throws {
        let t = try table("name,n\n\"Smith, J\",1\n\"say \"\"hi\"\"\",2\n\"\",3\n")
        #expect(
            t.column(named: "name")
                == DataTable.Column(
                    name: "name",
                    values: .strings(["Smith, J", "say \"hi\"", ""]),
                    missing: [false, false, true]
                )
        )
        #expect(t.column(named: "n")?.values == .floats([1, 2, 3]))
    }

    @Test func customTokensAndTheQuotedEmptyField() throws {
        // Without "" among the tokens an unquoted empty field is text; a quoted one is still missing.
        let t = try table("a,b\n,1\n\"\",2\n-,3\n4,4\n", missingTokens: ["-"])
        #expect(
            t.column(named: "a")
                == DataTable.Column(
                    name: "a",
                    values: .strings(["", "", "", "4"]),
                    missing: [false, true, true, false]
                )
        )
    }

    @Test func headerlessAndDelimiter() throws {
        let t = try DataTable(
            csvBytes: Array("1;a\n2;b\n".utf8),
            format: CSVFormat(delimiter: .semicolon, hasHeader: false)
        )
        #expect(t.names == ["f1", "f2"])
        #expect(t.column(named: "f1")?.values == .floats([1, 2]))
        #expect(t.column(named: "f2")?.values == .strings(["a", "b"]))
    }

    @Test(
        "bad CSV fails as the Dataset reader does",
        arguments: [
            ("", DatasetError.Code.emptyFile, nil),
            ("a,b\n", .emptyFile, nil),
            ("a,b\n1,2\n3\n", .wrongColumnCount, 3),
            ("a,a\n1,2\n", .duplicateName, 1),
            ("1,2\n3,4\n", .numericHeader, 1),
            ("a,b\n\"x,1\n", .malformedQuote, 2),
        ] as [(String, DatasetError.Code, Int?)]
    )
    func badCSV(csv: String, code: DatasetError.Code, line: Int?) {
        let error = #expect(throws: DatasetError.self) { try table(csv) }
        #expect(error?.code == code)
        #expect(error?.line == line)
        let reference = #expect(throws: DatasetError.self) { try Dataset(csv: csv) }
        #expect(error?.message == reference?.message)
    }

    @Test func readsAFileAndReportsAnUnreadableOne() throws {
        let t = try DataTable(contentsOfCSV: repositoryRoot.appendingPathComponent("data/iris.csv").path)
        #expect(t.rows == 150)
        #expect(t.columns.count == 5)
        #expect(t.columns.allSatisfy { if case .floats = $0.values { true } else { false } })
        let error = #expect(throws: DatasetError.self) { try DataTable(contentsOfCSV: "/nonexistent/x.csv") }
        #expect(error?.code == .unreadableFile)
    }
}

@Suite struct LabelTests {
    @Test func classificationSortsClassNames() throws {
        let t = try table("x,y\n1,b\n2,a\n3,b\n")
        let (features, targets) = try t.labelled(by: "y", task: .classification)
        #expect(features.names == ["x"])
        #expect(targets == .classes(names: ["a", "b"], ids: [1, 0, 1]))
    }

    @Test func classNamesFromNumbersAndBooleans() throws {
        let x = DataTable.Column(name: "x", values: .floats([0, 0, 0, 0]))
        let ints = try DataTable(columns: [x, .init(name: "y", values: .ints([10, 2, 10, -1]))])
        #expect(
            try ints.labelled(by: "y", task: .classification).targets
                == .classes(names: ["-1", "2", "10"], ids: [2, 1, 2, 0])
        )
        let floats = try DataTable(columns: [x, .init(name: "y", values: .floats([3, 2.5, 3, 10]))])
        #expect(
            try floats.labelled(by: "y", task: .classification).targets
                == .classes(names: ["10", "2.5", "3"], ids: [2, 1, 2, 0])
        )
        let bools = try DataTable(columns: [x, .init(name: "y", values: .bools([true, false, true, true]))])
        #expect(
            try bools.labelled(by: "y", task: .classification).targets
                == .classes(names: ["false", "true"], ids: [1, 0, 1, 1])
        )
    }

    @Test func regressionTargets() throws {
        let x = DataTable.Column(name: "x", values: .floats([0, 0]))
        let text = try DataTable(columns: [x, .init(name: "y", values: .strings(["1.5", "-2"]))])
        #expect(try text.labelled(by: "y", task: .regression).targets == .values([1.5, -2]))
        let ints = try DataTable(columns: [x, .init(name: "y", values: .ints([7, 8]))])
        #expect(try ints.labelled(by: "y", task: .regression).targets == .values([7, 8]))
        let bools = try DataTable(columns: [x, .init(name: "y", values: .bools([true, false]))])
        #expect(try bools.labelled(by: "y", task: .regression).targets == .values([1, 0]))
        let bad = try DataTable(columns: [x, .init(name: "y", values: .strings(["1", "abc"]))])
        let error = #expect(throws: DatasetError.self) { try bad.labelled(by: "y", task: .regression) }
        #expect(error?.code == .nonNumeric)
        #expect(error?.message == "column 'y', row 2: 'abc' is not a number")
    }

    @Test func refusals() throws {
        let x = DataTable.Column(name: "x", values: .floats([0, 0]))
        let gap = try DataTable(columns: [x, .init(name: "y", values: .floats([1, .nan]))])
        let missing = #expect(throws: DatasetError.self) { try gap.labelled(by: "y", task: .regression) }
        #expect(missing?.code == .missingValue)
        #expect(missing?.message == "column 'y', row 2: the label is missing")
        let flagged = try DataTable(columns: [
            x, .init(name: "y", values: .strings(["a", ""]), missing: [false, true]),
        ])
        #expect(throws: DatasetError.self) { try flagged.labelled(by: "y", task: .classification) }

        let single = try DataTable(columns: [x, .init(name: "y", values: .strings(["a", "a"]))])
        let one = #expect(throws: DatasetError.self) { try single.labelled(by: "y", task: .classification) }
        #expect(one?.code == .singleClass)
        #expect(one?.message.contains("'y'") == true)

        let absent = #expect(throws: DatasetError.self) { try single.labelled(by: "label", task: .classification) }
        #expect(absent?.code == .missingLabelColumn)
        #expect(absent?.message == "no column named 'label' in the table (x, y)")
    }
}
